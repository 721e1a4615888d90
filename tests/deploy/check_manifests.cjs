#!/usr/bin/env node
// Checks rendered Kubernetes manifests three ways, and prints every problem
// as "FILE: Kind/name: problem":
//   schema  each object validates against the Kubernetes OpenAPI schema of its
//           kind (npm kubernetes-models);
//   types   a TypeScript program that assigns each object, as an object
//           literal, to its kind's interface type-checks: TypeScript rejects
//           fields the type does not have, which the schemas let through, so
//           a misspelt field such as restartPolcy fails here;
//   policy  what lrsched's deployments promise an operator: non-root as the
//           images' uid 10001, read-only root file system, no privilege
//           escalation, no capabilities, seccomp RuntimeDefault, no service
//           account token, requests and limits on every container; readiness
//           and liveness probes on every long-running container; gRPC
//           startup, readiness and liveness probes on the server's port; a
//           grace period longer than the server's drain time (and, with
//           etcd, the lease's revocation after it); one pod count in an
//           Indexed Job. Several replicas: one PodDisruptionBudget that
//           evicts one at a time, anti-affinity across nodes. The server's
//           store: SQLite means one replica, Recreate and the working
//           directory on a volume; etcd means no PersistentVolumeClaim, the
//           pod IP advertised, and every member of the etcd StatefulSet in
//           LRSCHED_STORE. etcd: a StatefulSet of an odd count started in
//           parallel, whose --initial-cluster names exactly its pods under
//           its headless Service (publishing not-ready addresses), its data
//           on a volumeClaimTemplate, compaction on, required anti-affinity
//           and a budget that keeps a majority.
//   security
//           who reaches what, and with which credentials. A NetworkPolicy
//           selects every pod of lrsched-server and of etcd; it admits to
//           the server's gRPC port only trainers (pods labelled
//           lrsched-client: "true") and the server's own pods, to the
//           metrics port only named pods (Prometheus), everyone only to the
//           plaintext health port; to etcd's client port only the server's
//           pods, to its peer port only its members. A server that other
//           pods reach (a Deployment or StatefulSet) takes its callers from
//           LRSCHED_AUTH_TOKENS_FILE, serves grpc.health.v1.Health on
//           LRSCHED_HEALTH_LISTEN, its own container port named health, and
//           is probed there, and serves TLS. With etcd, a standby forwards
//           to the leader over TLS: it needs the CA of the replicas'
//           certificates (LRSCHED_TLS_REPLICA_CA_FILE, or the client CA it
//           defaults to; without it lrsched-server refuses to start) and the
//           name to verify in the leader's certificate
//           (LRSCHED_TLS_REPLICA_SERVER_NAME, a DNS name of the Service of
//           the replicas' gRPC port: the leader's advertised address is a pod
//           IP, which the certificate does not name). A gRPC probe never
//           goes to a TLS port (the kubelet speaks plaintext), nor does a
//           Service call that port h2c. Keys, tokens and callers files are
//           on read-only Secret volumes (certificates and CAs on Secret or
//           ConfigMap volumes); no PEM block, bearer token, Secret data or
//           token-like literal (an env variable, a ConfigMap entry, a
//           --token flag) is in any manifest.
//
// Usage: check_manifests.cjs TOOLS_DIR RENDERED.yaml...
//   TOOLS_DIR holds node_modules with kubernetes-models, typescript and yaml.
'use strict';
const fs = require('fs');
const path = require('path');
const childProcess = require('child_process');

const [toolsDir, ...files] = process.argv.slice(2);
if (!toolsDir || files.length === 0) {
  console.error('usage: check_manifests.cjs TOOLS_DIR RENDERED.yaml...');
  process.exit(2);
}
const toolsModules = path.resolve(toolsDir, 'node_modules');
const YAML = require(path.join(toolsModules, 'yaml'));

const problems = [];
const report = (where, problem) => problems.push(`${where}: ${problem}`);

// The module of a kind in kubernetes-models: core/v1 is "v1/Kind", a named
// group is "group/version/Kind".
function modelPath(object) {
  return `kubernetes-models/${object.apiVersion}/${object.kind}`;
}

function loadObjects(file) {
  const documents = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'));
  const objects = [];
  for (const document of documents) {
    for (const error of document.errors) report(file, `YAML: ${error.message}`);
    const object = document.toJS();
    if (object === null || object === undefined) continue;
    const name = `${object.kind}/${object.metadata && object.metadata.name}`;
    objects.push({file, name, object});
  }
  return objects;
}

function checkSchema({file, name, object}) {
  let Model;
  try {
    Model = require(path.join(toolsModules, modelPath(object)))[object.kind];
  } catch (error) {
    report(`${file}: ${name}`, `schema: no Kubernetes kind ${object.apiVersion} ${object.kind}`);
    return;
  }
  try {
    new Model(object).validate();
  } catch (error) {
    const details = (error.errors || []).map((e) => `${e.instancePath} ${e.message}`);
    report(`${file}: ${name}`, `schema: ${details.join('; ') || error.message}`);
  }
}

function checkTypes(objects) {
  const checkDir = fs.mkdtempSync(path.join(path.resolve(toolsDir), 'typecheck-'));
  const lines = [];
  const where = [];
  objects.forEach(({file, name, object}, i) => {
    const type = `I${object.kind}`;
    lines.push(`import type { ${type} as T${i} } from ${JSON.stringify(modelPath(object))};`);
    lines.push(`export const object${i}: T${i} = ${JSON.stringify(object, null, 2)};`);
    where.push(`${file}: ${name}`);
  });
  const program = path.join(checkDir, 'manifests.ts');
  fs.writeFileSync(program, lines.join('\n') + '\n');
  fs.writeFileSync(path.join(checkDir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {noEmit: true, strict: true, pretty: false, types: [], module: 'commonjs',
                      moduleResolution: 'node', target: 'es2020'},
    files: ['manifests.ts'],
  }));
  const tsc = path.join(toolsModules, 'typescript', 'bin', 'tsc');
  const result = childProcess.spawnSync(process.execPath, [tsc, '--project', checkDir],
                                        {encoding: 'utf8'});
  fs.rmSync(checkDir, {recursive: true, force: true});
  if (result.status === 0) return;
  // Map each diagnostic's line back to the object it is in.
  const starts = [];
  let lineNumber = 1;
  for (const line of lines) {
    if (line.startsWith('export const object')) starts.push(lineNumber);
    lineNumber += line.split('\n').length;
  }
  const output = (result.stdout + result.stderr).trim().split('\n');
  for (const diagnostic of output) {
    const match = /manifests\.ts\((\d+),\d+\): (.*)/.exec(diagnostic);
    if (!match) {
      if (diagnostic) report('typescript', diagnostic);
      continue;
    }
    const line = Number(match[1]);
    let index = 0;
    while (index + 1 < starts.length && starts[index + 1] <= line) index++;
    report(where[index], `types: ${match[2]}`);
  }
}

// The pod template of a workload, or undefined.
function podSpec(object) {
  if (object.kind === 'Pod') return object.spec;
  return object.spec && object.spec.template && object.spec.template.spec;
}

// Kinds whose pods run for good and are counted by spec.replicas.
const REPLICATED_KINDS = ['Deployment', 'StatefulSet'];
function replicas(object) {
  return object.spec.replicas === undefined ? 1 : object.spec.replicas;
}

function parseDuration(text) {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text || '');
  if (!match) return undefined;
  const unit = {ms: 0.001, s: 1, m: 60, h: 3600}[match[2]];
  return Number(match[1]) * unit;
}

// Whether a label selector (matchLabels, matchExpressions) selects labels.
function selects(selector, labels) {
  if (!selector) return false;
  labels = labels || {};
  const matchLabels = selector.matchLabels || {};
  const expressions = selector.matchExpressions || [];
  if (Object.keys(matchLabels).length === 0 && expressions.length === 0) return false;
  for (const [key, value] of Object.entries(matchLabels)) {
    if (labels[key] !== value) return false;
  }
  for (const {key, operator, values} of expressions) {
    const has = Object.prototype.hasOwnProperty.call(labels, key);
    const ok = {
      In: () => has && values.includes(labels[key]),
      NotIn: () => !has || !values.includes(labels[key]),
      Exists: () => has,
      DoesNotExist: () => !has,
    }[operator];
    if (!ok || !ok()) return false;
  }
  return true;
}

// What a Service's plain selector (a map) selects.
function serviceSelects(service, labels) {
  const selector = service.spec && service.spec.selector;
  return !!selector && selects({matchLabels: selector}, labels);
}

// A container's environment as the kubelet builds it: envFrom's ConfigMaps,
// then env in order, with $(NAME) expanded from what is defined before it. A
// value from the downward API stands as <fieldPath>, e.g. <status.podIP>.
function environmentOf(container, configMaps) {
  const environment = {};
  for (const source of container.envFrom || []) {
    if (source.configMapRef) Object.assign(environment, configMaps.get(source.configMapRef.name));
  }
  for (const variable of container.env || []) {
    if (variable.value !== undefined) {
      environment[variable.name] = expand(variable.value, environment);
    } else if (variable.valueFrom && variable.valueFrom.fieldRef) {
      environment[variable.name] = `<${variable.valueFrom.fieldRef.fieldPath}>`;
    } else {
      environment[variable.name] = '<unknown>';
    }
  }
  return environment;
}

// Expands $(NAME) as the kubelet does in env values, command and args: a
// name it does not know stays as it is.
function expand(text, environment) {
  return String(text).replace(/\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g,
                              (whole, name) => (name in environment ? environment[name] : whole));
}

// --flag=value and --flag value arguments, by flag name (the last wins).
function flagsOf(words) {
  const flags = {};
  for (let i = 0; i < words.length; i++) {
    const match = /^--?([\w-]+)(?:=(.*))?$/.exec(words[i]);
    if (!match) continue;
    if (match[2] !== undefined) {
      flags[match[1]] = match[2];
    } else if (i + 1 < words.length && !String(words[i + 1]).startsWith('-')) {
      flags[match[1]] = words[++i];
    } else {
      flags[match[1]] = 'true';
    }
  }
  return flags;
}

function isEtcd(container) {
  const executable = path.basename((container.command || [])[0] || '');
  return executable === 'etcd' || /(^|\/)etcd(:|@|$)/.test(container.image || '');
}

// How many of n pods a PodDisruptionBudget lets be evicted at once
// (Kubernetes rounds percentages up).
function allowedDisruptions(budget, n) {
  const scaled = (value) => {
    const percent = /^(\d+)%$/.exec(String(value));
    return percent ? Math.ceil((n * Number(percent[1])) / 100) : Number(value);
  };
  const spec = budget.spec || {};
  if (spec.maxUnavailable !== undefined) return scaled(spec.maxUnavailable);
  if (spec.minAvailable !== undefined) return n - scaled(spec.minAvailable);
  return n;
}

function antiAffinityTerms(spec) {
  const anti = (spec.affinity && spec.affinity.podAntiAffinity) || {};
  return {
    required: anti.requiredDuringSchedulingIgnoredDuringExecution || [],
    preferred: (anti.preferredDuringSchedulingIgnoredDuringExecution || [])
        .map((weighted) => weighted.podAffinityTerm || {}),
  };
}

// The Service named `name` in the same file.
function serviceNamed(objects, file, name) {
  return objects.find(({file: f, object}) => f === file && object.kind === 'Service' &&
                                             object.metadata.name === name);
}

function checkPolicy(objects) {
  const configMaps = new Map();
  for (const {object} of objects) {
    if (object.kind === 'ConfigMap') configMaps.set(object.metadata.name, object.data || {});
  }
  for (const entry of objects) {
    const {file, name, object} = entry;
    const spec = podSpec(object);
    if (!spec) continue;
    const where = `${file}: ${name}`;
    const pod = spec.securityContext || {};
    if (pod.runAsNonRoot !== true) report(where, 'policy: securityContext.runAsNonRoot is not true');
    for (const id of ['runAsUser', 'runAsGroup', 'fsGroup']) {
      if (pod[id] !== 10001) report(where, `policy: securityContext.${id} is not 10001, the images' user`);
    }
    if (!(pod.seccompProfile && pod.seccompProfile.type === 'RuntimeDefault')) {
      report(where, 'policy: securityContext.seccompProfile.type is not RuntimeDefault');
    }
    if (spec.automountServiceAccountToken !== false) {
      report(where, 'policy: automountServiceAccountToken is not false');
    }
    const longRunning = REPLICATED_KINDS.includes(object.kind);
    const containers = [...(spec.initContainers || []), ...(spec.containers || [])];
    for (const container of containers) {
      const at = `${where}: container ${container.name}`;
      const security = container.securityContext || {};
      if (security.allowPrivilegeEscalation !== false) {
        report(at, 'policy: allowPrivilegeEscalation is not false');
      }
      if (security.readOnlyRootFilesystem !== true) {
        report(at, 'policy: readOnlyRootFilesystem is not true');
      }
      const dropped = (security.capabilities && security.capabilities.drop) || [];
      if (!dropped.includes('ALL')) report(at, 'policy: capabilities.drop does not include ALL');
      const resources = container.resources || {};
      for (const kind of ['requests', 'limits']) {
        for (const resource of ['cpu', 'memory']) {
          if (!(resources[kind] && resources[kind][resource])) {
            report(at, `policy: resources.${kind}.${resource} is not set`);
          }
        }
      }
      if (longRunning && !(spec.initContainers || []).includes(container)) {
        for (const probe of ['readinessProbe', 'livenessProbe']) {
          if (!container[probe]) report(at, `policy: no ${probe}`);
        }
      }
      checkCredentials(entry, spec, container, environmentOf(container, configMaps));
      if (container.name === 'lrsched-server') {
        checkServer(objects, entry, container, environmentOf(container, configMaps));
        checkServerNetwork(objects, entry, container, environmentOf(container, configMaps));
      }
      if (isEtcd(container)) checkEtcdNetwork(objects, entry, container);
      if (isEtcd(container)) checkEtcd(objects, entry, container);
    }
    if (object.kind === 'Job' && object.spec.completionMode === 'Indexed') {
      const pods = containers.flatMap((c) => c.env || []).find((v) => v.name === 'LRSCHED_PODS');
      const counts = [object.spec.completions, object.spec.parallelism, pods && Number(pods.value)];
      if (!counts.every((n) => n === counts[0])) {
        report(where, `policy: completions, parallelism and LRSCHED_PODS differ (${counts})`);
      }
    }
    if (longRunning && replicas(object) > 1) checkReplicated(objects, entry);
  }
  checkBudgetsSelectSomething(objects);
  checkNoLiterals(objects);
}

// A workload of several pods: a PodDisruptionBudget that lets a drain evict
// one pod at a time (not none, which would hang the drain, nor all), and pod
// anti-affinity that spreads its pods across nodes.
function checkReplicated(objects, {file, name, object}) {
  const where = `${file}: ${name}`;
  const n = replicas(object);
  const labels = object.spec.template.metadata && object.spec.template.metadata.labels;
  const budgets = objects.filter(({file: f, object: o}) =>
    f === file && o.kind === 'PodDisruptionBudget' && selects(o.spec && o.spec.selector, labels));
  if (budgets.length === 0) {
    report(where, `policy: ${n} replicas but no PodDisruptionBudget selects its pods: a node ` +
                  'drain may evict them all at once');
  } else if (budgets.length > 1) {
    report(where, `policy: ${budgets.length} PodDisruptionBudgets select its pods ` +
                  `(${budgets.map((b) => b.name)}): the eviction API refuses such pods`);
  } else {
    const budget = budgets[0];
    const allowed = allowedDisruptions(budget.object, n);
    if (!(allowed >= 1)) {
      report(where, `policy: ${budget.name} lets none of its ${n} pods be evicted: a node ` +
                    'drain would wait for ever');
    } else if (allowed >= n) {
      report(where, `policy: ${budget.name} lets all its ${n} pods be evicted at once`);
    }
  }
  const spec = podSpec(object);
  const terms = antiAffinityTerms(spec);
  const spreads = (term) => term.topologyKey === 'kubernetes.io/hostname' &&
                            selects(term.labelSelector, labels);
  if (![...terms.required, ...terms.preferred].some(spreads)) {
    report(where, `policy: ${n} replicas but no pod anti-affinity on kubernetes.io/hostname ` +
                  'for its own pods: they may all run on one node');
  }
}

function checkBudgetsSelectSomething(objects) {
  for (const {file, name, object} of objects) {
    if (object.kind !== 'PodDisruptionBudget') continue;
    const selected = objects.some(({file: f, object: o}) =>
      f === file && REPLICATED_KINDS.includes(o.kind) &&
      selects(object.spec && object.spec.selector, o.spec.template.metadata &&
                                                   o.spec.template.metadata.labels));
    if (!selected) report(`${file}: ${name}`, 'policy: selects the pods of no workload here');
  }
}

// lrsched-server: gRPC probes on its port, a grace period longer than its
// drain, and what its store asks of the workload. SQLite: one replica, never
// two pods on the file (Recreate), the working directory a volume. etcd: no
// PersistentVolumeClaim, an advertised pod address, every member of the etcd
// StatefulSet in LRSCHED_STORE, and a grace period that also covers handing
// the lease back.
function checkServer(objects, {file, name, object}, container, environment) {
  const where = `${file}: ${name}`;
  const at = `${where}: container ${container.name}`;
  const spec = podSpec(object);
  const port = ((container.ports || []).find((p) => p.name === 'grpc') || {}).containerPort;
  if (!port) report(at, 'policy: no container port named grpc');
  const tls = !!environment.LRSCHED_TLS_CERT_FILE;
  const healthPort = serverHealthPort(container, environment);
  for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
    const grpc = container[probe] && container[probe].grpc;
    if (!grpc) {
      report(at, `policy: ${probe} is not a gRPC probe`);
    } else if (grpc.port === port && tls) {
      report(at, `security: ${probe} probes the gRPC port ${port}, which serves TLS: the ` +
                 "kubelet's gRPC probes speak plaintext only (probe the port of " +
                 'LRSCHED_HEALTH_LISTEN)');
    } else if (healthPort !== undefined && grpc.port !== healthPort) {
      report(at, `policy: ${probe} probes port ${grpc.port}, not the health port ${healthPort} ` +
                 '(LRSCHED_HEALTH_LISTEN)');
    } else if (healthPort === undefined && grpc.port !== port) {
      report(at, `policy: ${probe} probes port ${grpc.port}, not the grpc port ${port}`);
    } else if (grpc.service) {
      report(at, `policy: ${probe} asks for service "${grpc.service}", not ""`);
    }
  }
  // A server that other pods reach through a Service: callers with tokens, a
  // plaintext health port for the kubelet, and TLS (below).
  if (REPLICATED_KINDS.includes(object.kind)) {
    if (!environment.LRSCHED_AUTH_TOKENS_FILE) {
      report(at, 'security: no LRSCHED_AUTH_TOKENS_FILE: anyone who reaches the port may ' +
                 'create, change, read and delete every job');
    }
    if (!environment.LRSCHED_HEALTH_LISTEN) {
      report(at, 'security: no LRSCHED_HEALTH_LISTEN: the kubelet probes the gRPC port, which ' +
                 'then cannot require TLS');
    }
  }
  if (environment.LRSCHED_HEALTH_LISTEN && healthPort === undefined) {
    report(at, `security: LRSCHED_HEALTH_LISTEN (${environment.LRSCHED_HEALTH_LISTEN}) is not ` +
               'host:port of a container port named health');
  }
  if (!!environment.LRSCHED_TLS_CERT_FILE !== !!environment.LRSCHED_TLS_KEY_FILE) {
    report(at, 'security: LRSCHED_TLS_CERT_FILE and LRSCHED_TLS_KEY_FILE go together');
  }
  for (const variable of ['LRSCHED_TLS_CLIENT_CA_FILE', 'LRSCHED_TLS_REPLICA_CA_FILE',
                          'LRSCHED_TLS_REPLICA_SERVER_NAME']) {
    if (environment[variable] && !tls) {
      report(at, `security: ${variable} without LRSCHED_TLS_CERT_FILE`);
    }
  }
  // A Service that calls the TLS port cleartext HTTP/2 misleads a gateway.
  for (const {file: serviceFile, object: service, name: serviceName} of objects) {
    if (!tls || serviceFile !== file || service.kind !== 'Service' ||
        !serviceSelects(service, podLabels(object))) continue;
    for (const servicePort of service.spec.ports || []) {
      const target = servicePort.targetPort === undefined ? servicePort.port : servicePort.targetPort;
      if ((target === 'grpc' || target === port) && servicePort.appProtocol === 'kubernetes.io/h2c') {
        report(`${file}: ${serviceName}`, `security: port ${servicePort.name || servicePort.port} ` +
               'has appProtocol kubernetes.io/h2c (cleartext) but the server serves TLS there');
      }
    }
  }
  const store = environment.LRSCHED_STORE || '';
  const etcd = /^etcd:\/\/([^/]*)(\/.*)?$/.exec(store);
  if (store && environment.LRSCHED_STATE !== undefined) {
    report(at, 'policy: LRSCHED_STORE and LRSCHED_STATE are both set: lrsched-server refuses ' +
               'to start (give --store or --state, not both)');
  }
  const drain = parseDuration(environment.LRSCHED_DRAIN_TIMEOUT);
  const grace = spec.terminationGracePeriodSeconds;
  const replicated = REPLICATED_KINDS.includes(object.kind);
  if (replicated && !tls) {
    report(at, 'security: serves plaintext to other pods: a server behind a Service serves ' +
               'TLS (LRSCHED_TLS_CERT_FILE, LRSCHED_TLS_KEY_FILE from a Secret)');
  }
  // With etcd, a standby forwards every call to the leader over TLS: it
  // verifies the leader's certificate with the replicas' CA, for a name the
  // certificate holds (the leader advertises its pod IP, which it does not).
  if (etcd && tls) {
    if (!environment.LRSCHED_TLS_REPLICA_CA_FILE && !environment.LRSCHED_TLS_CLIENT_CA_FILE) {
      report(at, 'security: serves TLS with an etcd store but sets no ' +
                 'LRSCHED_TLS_REPLICA_CA_FILE (nor LRSCHED_TLS_CLIENT_CA_FILE, its default): a ' +
                 "standby verifies the leader's certificate with it, and lrsched-server refuses " +
                 'to start without it (--tls_replica_ca_file)');
    }
    const serverName = environment.LRSCHED_TLS_REPLICA_SERVER_NAME;
    const serviceNames = serviceDnsNames(objects, file, object, port);
    if (!serverName) {
      report(at, 'security: serves TLS with an etcd store but sets no ' +
                 "LRSCHED_TLS_REPLICA_SERVER_NAME: a standby would verify the leader's " +
                 'certificate for the host of LRSCHED_ADVERTISE, a pod IP, which the ' +
                 `certificate does not name (set a name of the Service: ${serviceNames[0] ||
                 'none selects the pods'})`);
    } else if (!serviceNames.includes(serverName)) {
      report(at, `security: LRSCHED_TLS_REPLICA_SERVER_NAME (${serverName}) is no DNS name of ` +
                 `a Service of the replicas' gRPC port (${serviceNames.join(', ') || 'none'}): ` +
                 "the certificate names the Service, and a standby verifies this name in the " +
                 "leader's");
    }
  }
  if (!etcd) {
    if (drain === undefined) {
      report(at, 'policy: LRSCHED_DRAIN_TIMEOUT is not a duration such as 20s');
    } else if (!(grace > drain)) {
      report(at, `policy: terminationGracePeriodSeconds (${grace}) is not longer than ` +
                 `LRSCHED_DRAIN_TIMEOUT (${drain}s)`);
    }
    if (!(container.volumeMounts || []).some((m) => m.mountPath === container.workingDir)) {
      report(at, `policy: the working directory ${container.workingDir}, where the state ` +
                 'file is, is not a volume');
    }
    if (replicated && replicas(object) > 1) {
      report(where, `policy: keeps its jobs in SQLite but has ${replicas(object)} replicas: the ` +
                    'state file has one writer (several replicas need the etcd store)');
    }
    if (object.kind === 'Deployment' && (object.spec.strategy || {}).type !== 'Recreate') {
      report(where, 'policy: keeps its jobs in SQLite but its strategy is not Recreate: an old ' +
                    'and a new pod would open the state file together');
    }
    return;
  }

  // The etcd store.
  const endpoints = etcd[1].split(',').filter((e) => e);
  const callTimeout = parseDuration(environment.LRSCHED_ETCD_CALL_TIMEOUT || '2s');
  if (drain === undefined) {
    report(at, 'policy: LRSCHED_DRAIN_TIMEOUT is not a duration such as 20s');
  } else if (!(grace > drain + endpoints.length * callTimeout)) {
    report(at, `policy: terminationGracePeriodSeconds (${grace}) is not longer than ` +
               `LRSCHED_DRAIN_TIMEOUT (${drain}s) plus the lease's revocation after it ` +
               `(${endpoints.length} etcd members x LRSCHED_ETCD_CALL_TIMEOUT ${callTimeout}s)`);
  }
  for (const volume of spec.volumes || []) {
    if (volume.persistentVolumeClaim) {
      report(where, `policy: keeps its jobs in etcd but mounts the PersistentVolumeClaim ` +
                    `${volume.persistentVolumeClaim.claimName}: a replica must start on any ` +
                    'node, and a ReadWriteOnce claim binds one');
    }
  }
  if (object.kind === 'Deployment' && replicas(object) > 1 &&
      (object.spec.strategy || {}).type === 'Recreate') {
    report(where, 'policy: Recreate stops every replica at once; a rolling update hands the ' +
                  'lead over without a gap');
  }
  if (environment.LRSCHED_LEASE_TTL !== undefined) {
    const ttl = parseDuration(environment.LRSCHED_LEASE_TTL);
    if (!(ttl >= 2 && Number.isInteger(ttl))) {
      report(at, `policy: LRSCHED_LEASE_TTL (${environment.LRSCHED_LEASE_TTL}) is not whole ` +
                 'seconds, at least 2s');
    }
  }
  const advertise = environment.LRSCHED_ADVERTISE;
  const advertised = /^(?:<status\.podIP>|\[<status\.podIP>\]):(\d+)$/.exec(advertise || '');
  if (!advertised) {
    report(at, `policy: LRSCHED_ADVERTISE (${advertise === undefined ? 'unset' : advertise}) ` +
               'is not the pod IP (status.podIP) and a port: the other replicas could not ' +
               'forward to this one');
  } else if (Number(advertised[1]) !== port) {
    report(at, `policy: LRSCHED_ADVERTISE names port ${advertised[1]}, not the grpc port ${port}`);
  }
  // Every endpoint is a member of an etcd StatefulSet here, by its stable
  // name, and the server knows every member of it.
  const named = new Map();  // StatefulSet name -> ordinals in LRSCHED_STORE
  for (const endpoint of endpoints) {
    const match = /^(([a-z0-9-]+)-(\d+))\.([a-z0-9-]+)(?:\.[a-z0-9.-]+)?:(\d+)$/.exec(endpoint);
    const member = match && objects.find(({file: f, object: o}) =>
      f === file && o.kind === 'StatefulSet' && o.metadata.name === match[2] &&
      o.spec.serviceName === match[4] && podSpec(o).containers.some(isEtcd));
    if (!member) {
      report(at, `policy: LRSCHED_STORE names ${endpoint}, which is no member of an etcd ` +
                 'StatefulSet here (NAME-<i>.SERVICE:PORT)');
      continue;
    }
    const ordinal = Number(match[3]);
    if (ordinal >= replicas(member.object)) {
      report(at, `policy: LRSCHED_STORE names ${match[1]}, but ${member.name} has ` +
                 `${replicas(member.object)} replicas`);
    }
    const client = etcdClientPort(podSpec(member.object).containers.find(isEtcd));
    if (client !== undefined && Number(match[5]) !== client) {
      report(at, `policy: LRSCHED_STORE names port ${match[5]} of ${match[1]}, whose client ` +
                 `port is ${client}`);
    }
    if (!named.has(member)) named.set(member, new Set());
    named.get(member).add(ordinal);
  }
  for (const [member, ordinals] of named) {
    const n = replicas(member.object);
    if (ordinals.size < n) {
      report(at, `policy: LRSCHED_STORE lists ${ordinals.size} of the ${n} members of ` +
                 `${member.name}: the server could not fail over to the others`);
    }
  }
}

// The DNS names of the Services in front of a workload's gRPC port, the
// fullest first: SERVICE.NAMESPACE.svc, SERVICE.NAMESPACE.svc.cluster.local,
// SERVICE.NAMESPACE and SERVICE. The namespace is the objects' own, or, where
// the manifests name none, the pod's (<metadata.namespace>, from the
// downward API, as a variable in the manifest would stand).
function serviceDnsNames(objects, file, workload, port) {
  const names = [];
  for (const {file: f, object: service} of objects) {
    if (f !== file || service.kind !== 'Service' ||
        !serviceSelects(service, podLabels(workload))) continue;
    const toGrpc = (service.spec.ports || []).some((p) => {
      const target = p.targetPort === undefined ? p.port : p.targetPort;
      return target === 'grpc' || target === port;
    });
    if (!toGrpc) continue;
    const name = service.metadata.name;
    const namespace = service.metadata.namespace || workload.metadata.namespace ||
                      '<metadata.namespace>';
    names.push(`${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`,
               `${name}.${namespace}`, name);
  }
  return names;
}

// --- Security: credentials, literals, NetworkPolicies ---------------------------

// The label of the pods the server's NetworkPolicy admits to its gRPC port.
const CLIENT_LABEL = 'lrsched-client';
// Files that hold secrets (on a Secret volume) and files that hold
// certificates (on a Secret or ConfigMap volume), by the variable naming them.
const SECRET_FILES = ['LRSCHED_TLS_KEY_FILE', 'LRSCHED_AUTH_TOKENS_FILE', 'LRSCHED_TOKEN_FILE'];
const CERTIFICATE_FILES = ['LRSCHED_TLS_CERT_FILE', 'LRSCHED_TLS_CLIENT_CA_FILE',
                           'LRSCHED_TLS_REPLICA_CA_FILE', 'LRSCHED_TLS_CA_FILE'];
// A name that says it holds a credential itself (not a file naming one).
const CREDENTIAL_NAME = /(TOKEN|PASSWORD|PASSWD|SECRET|API_KEY|PRIVATE_KEY|CREDENTIALS?)$/i;
const CREDENTIAL_FLAG = /^(token|auth_token|bearer_token|password|api_key)$/;

// The labels of a workload's pods, with those the Job controller adds.
function podLabels(object) {
  const labels = {...((object.spec.template && object.spec.template.metadata &&
                       object.spec.template.metadata.labels) || {})};
  if (object.kind === 'Job') {
    labels['batch.kubernetes.io/job-name'] = object.metadata.name;
    labels['job-name'] = object.metadata.name;
  }
  return labels;
}

// The port of LRSCHED_HEALTH_LISTEN, when it is a container port named health.
function serverHealthPort(container, environment) {
  const match = /:(\d+)$/.exec(environment.LRSCHED_HEALTH_LISTEN || '');
  const named = (container.ports || []).find((p) => p.name === 'health');
  return match && named && named.containerPort === Number(match[1]) ? named.containerPort
                                                                     : undefined;
}

// The volume a file path is on in a container: {mount, volume}, or undefined.
function volumeOf(spec, container, file) {
  const mounts = (container.volumeMounts || []).filter((m) =>
    file === m.mountPath || file.startsWith(`${m.mountPath.replace(/\/$/, '')}/`));
  mounts.sort((a, b) => b.mountPath.length - a.mountPath.length);
  if (mounts.length === 0) return undefined;
  const volume = (spec.volumes || []).find((v) => v.name === mounts[0].name);
  return {mount: mounts[0], volume};
}
function fromSecret(volume) {
  if (!volume) return false;
  if (volume.secret) return true;
  const sources = (volume.projected && volume.projected.sources) || [];
  return sources.length > 0 && sources.every((source) => source.secret);
}
function fromConfig(volume) {
  if (!volume) return false;
  if (volume.secret || volume.configMap) return true;
  const sources = (volume.projected && volume.projected.sources) || [];
  return sources.length > 0 && sources.every((source) => source.secret || source.configMap);
}

// Keys, tokens and callers files on read-only Secret volumes (certificates
// on Secret or ConfigMap volumes); no credential in an env literal or a flag.
function checkCredentials({file, name}, spec, container, environment) {
  const at = `${file}: ${name}: container ${container.name}`;
  for (const variable of [...SECRET_FILES, ...CERTIFICATE_FILES]) {
    const value = environment[variable];
    if (!value) continue;
    const secret = SECRET_FILES.includes(variable);
    const on = volumeOf(spec, container, value);
    if (!on || !(secret ? fromSecret(on.volume) : fromConfig(on.volume)) ||
        on.mount.readOnly !== true || on.mount.subPath || on.mount.subPathExpr) {
      report(at, `security: ${variable} (${value}) is not on a read-only ` +
                 `${secret ? 'Secret' : 'Secret or ConfigMap'} volume mounted whole (a subPath ` +
                 'is not updated when the Secret changes)');
    }
  }
  for (const variable of container.env || []) {
    if (variable.value !== undefined && CREDENTIAL_NAME.test(variable.name) && variable.value) {
      report(at, `security: env ${variable.name} is a literal in the manifest: a token or a ` +
                 'key comes from a Secret, as a file (LRSCHED_TOKEN_FILE, ...)');
    }
  }
  const flags = flagsOf([...(container.command || []), ...(container.args || [])]);
  for (const flag of Object.keys(flags)) {
    if (CREDENTIAL_FLAG.test(flag)) {
      report(at, `security: --${flag} on the command line: tokens come from files (--token_file)`);
    }
  }
}

// No key, certificate, bearer token or Secret data anywhere in the manifests.
function checkNoLiterals(objects) {
  for (const {file, name, object} of objects) {
    const where = `${file}: ${name}`;
    if (object.kind === 'Secret' &&
        (Object.keys(object.data || {}).length || Object.keys(object.stringData || {}).length)) {
      report(where, 'security: a Secret with its data in the manifests: keys and tokens are ' +
                    'made in the cluster, never kept in git (deploy/README.md, Security)');
    }
    if (object.kind === 'ConfigMap') {
      for (const key of Object.keys(object.data || {})) {
        if (CREDENTIAL_NAME.test(key)) {
          report(where, `security: ConfigMap entry ${key} is a credential in the manifest: ` +
                        'take it from a Secret, as a file');
        }
      }
    }
    const walk = (value, at) => {
      if (typeof value === 'string') {
        if (value.includes('-----BEGIN')) {
          report(where, `security: ${at} holds a PEM block (a key or a certificate)`);
        }
        if (/\bbearer\s+[A-Za-z0-9._~+/=-]{8,}/i.test(value)) {
          report(where, `security: ${at} holds a bearer token`);
        }
        if (/^\s*(-\s+)?token:\s*["']?[^\s"'#]/m.test(value)) {
          report(where, `security: ${at} holds a callers file with a plaintext token`);
        }
      } else if (value && typeof value === 'object') {
        for (const [key, item] of Object.entries(value)) walk(item, `${at}/${key}`);
      }
    };
    walk(object, '');
    if (object.kind === 'Secret') {
      for (const [key, value] of Object.entries(object.data || {})) {
        walk(Buffer.from(String(value).replace(/\s/g, ''), 'base64').toString('latin1'),
             `/data/${key} (decoded)`);
      }
    }
  }
}

// The NetworkPolicies of a file that govern ingress to pods of these labels.
function networkPoliciesFor(objects, file, labels) {
  const selectsAll = (selector) => !selector ||
    (Object.keys(selector.matchLabels || {}).length === 0 &&
     (selector.matchExpressions || []).length === 0);
  return objects.filter(({file: f, object: o}) =>
    f === file && o.kind === 'NetworkPolicy' &&
    (!o.spec.policyTypes || o.spec.policyTypes.includes('Ingress')) &&
    (selectsAll(o.spec.podSelector) || selects(o.spec.podSelector, labels)));
}
const EVERYONE = {everyone: true};
function isEmptySelector(selector) {
  return !!selector && Object.keys(selector.matchLabels || {}).length === 0 &&
         (selector.matchExpressions || []).length === 0;
}
function isEveryone(peer) {
  if (peer === EVERYONE) return true;
  if (peer.ipBlock) return /\/0$/.test(peer.ipBlock.cidr || '');
  return isEmptySelector(peer.namespaceSelector) &&
         (!peer.podSelector || isEmptySelector(peer.podSelector));
}
function describePeer(peer) {
  return peer === EVERYONE ? 'everyone' : JSON.stringify(peer);
}
// The peers that the policies admit to a port (by number) of a pod.
function peersAdmitted(policies, containers, port) {
  const number = (rulePort) => {
    if (typeof rulePort.port === 'number' || rulePort.port === undefined) return rulePort.port;
    if (/^\d+$/.test(rulePort.port)) return Number(rulePort.port);
    for (const container of containers) {
      const named = (container.ports || []).find((p) => p.name === rulePort.port);
      if (named) return named.containerPort;
    }
    return undefined;
  };
  const peers = [];
  for (const {object} of policies) {
    for (const rule of object.spec.ingress || []) {
      const ports = rule.ports || [];
      const admits = ports.length === 0 || ports.some((p) => {
        const start = number(p);
        if (p.port === undefined) return true;
        return start === port || (p.endPort !== undefined && start <= port && port <= p.endPort);
      });
      if (!admits) continue;
      peers.push(...((rule.from || []).length ? rule.from : [EVERYONE]));
    }
  }
  return peers;
}
// A peer that is pods of these labels in the policy's own namespace.
function peerIsPods(peer, labels) {
  return peer !== EVERYONE && !peer.ipBlock && !peer.namespaceSelector && !!peer.podSelector &&
         !isEmptySelector(peer.podSelector) && selects(peer.podSelector, labels);
}
function peerIsClients(peer) {
  return peer !== EVERYONE && !peer.ipBlock && !!peer.podSelector &&
         (peer.podSelector.matchLabels || {})[CLIENT_LABEL] === 'true';
}
// Named pods: a non-empty pod selector (Prometheus, say), not a namespace
// or an address block.
function peerIsNamedPods(peer) {
  return peer !== EVERYONE && !peer.ipBlock && !!peer.podSelector &&
         !isEmptySelector(peer.podSelector);
}

// lrsched-server's pods: a NetworkPolicy that admits to the gRPC port only
// trainers and the server's own pods (the relays of a sidecar Job, the
// replicas that forward to the leader), to other ports only named pods, and
// everyone only to the health port.
function checkServerNetwork(objects, {file, name, object}, container, environment) {
  const where = `${file}: ${name}`;
  const labels = podLabels(object);
  const policies = networkPoliciesFor(objects, file, labels);
  if (policies.length === 0) {
    report(where, 'security: no NetworkPolicy selects its pods: every pod of the cluster ' +
                  'reaches its ports');
    return;
  }
  const spec = podSpec(object);
  const containers = [...(spec.initContainers || []), ...(spec.containers || [])];
  const grpcPort = ((container.ports || []).find((p) => p.name === 'grpc') || {}).containerPort;
  const healthPort = serverHealthPort(container, environment);
  const names = policies.map((p) => p.name).join(', ');
  for (const {name: portName, containerPort} of containers.flatMap((c) => c.ports || [])) {
    if (containerPort === healthPort) continue;
    const peers = peersAdmitted(policies, containers, containerPort);
    const label = `port ${portName || containerPort} (${containerPort})`;
    for (const peer of peers) {
      if (isEveryone(peer)) {
        report(where, `security: ${names} admits everyone to ${label}: only the health port ` +
                      'may be open to all');
      } else if (containerPort === grpcPort) {
        if (!peerIsClients(peer) && !peerIsPods(peer, labels)) {
          report(where, `security: ${names} admits ${describePeer(peer)} to the gRPC ${label}: ` +
                        `only trainers (pods labelled ${CLIENT_LABEL}: "true") and the ` +
                        "server's own pods");
        }
      } else if (!peerIsNamedPods(peer)) {
        report(where, `security: ${names} admits ${describePeer(peer)} to ${label}: only ` +
                      'named pods (Prometheus to the metrics port)');
      }
    }
    if (containerPort !== grpcPort) continue;
    if (REPLICATED_KINDS.includes(object.kind) && !peers.some(peerIsClients)) {
      report(where, `security: ${names} admits no trainer (pods labelled ${CLIENT_LABEL}: ` +
                    `"true") to the gRPC ${label}`);
    }
    const several = REPLICATED_KINDS.includes(object.kind) ? replicas(object) > 1
                                                           : (object.spec.completions || 1) > 1;
    if (several && !peers.some((peer) => peerIsPods(peer, labels))) {
      report(where, `security: ${names} does not admit the workload's own pods to the gRPC ` +
                    `${label}: ${object.kind === 'Job' ? "the other pods' relays cannot reach " +
                    "pod 0's server" : 'a standby cannot forward calls to the leader'}`);
    }
  }
}

// etcd's pods: its client port only for lrsched-server's pods, its peer port
// only for its members, its other ports only for named pods.
function checkEtcdNetwork(objects, {file, name, object}, container) {
  const where = `${file}: ${name}`;
  const labels = podLabels(object);
  const policies = networkPoliciesFor(objects, file, labels);
  if (policies.length === 0) {
    report(where, 'security: no NetworkPolicy selects its pods: every pod of the cluster ' +
                  "reaches etcd's client port, and with it every job");
    return;
  }
  const names = policies.map((p) => p.name).join(', ');
  const containers = podSpec(object).containers;
  const portNamed = (n) => ((container.ports || []).find((p) => p.name === n) || {}).containerPort;
  const clientPort = etcdClientPort(container) || portNamed('client');
  const peerPort = portNamed('peer');
  const servers = objects.filter(({file: f, object: o}) =>
    f === file && podSpec(o) && [...(podSpec(o).initContainers || []), ...podSpec(o).containers]
                                    .some((c) => c.name === 'lrsched-server'));
  for (const {name: portName, containerPort} of container.ports || []) {
    const peers = peersAdmitted(policies, containers, containerPort);
    const label = `port ${portName || containerPort} (${containerPort})`;
    for (const peer of peers) {
      if (isEveryone(peer)) {
        report(where, `security: ${names} admits everyone to etcd's ${label}`);
      } else if (containerPort === clientPort) {
        if (!servers.some((server) => peerIsPods(peer, podLabels(server.object)))) {
          report(where, `security: ${names} admits ${describePeer(peer)} to etcd's client ` +
                        `${label}: only lrsched-server's pods (etcd has no auth)`);
        }
      } else if (containerPort === peerPort) {
        if (!peerIsPods(peer, labels)) {
          report(where, `security: ${names} admits ${describePeer(peer)} to etcd's peer ` +
                        `${label}: only its members`);
        }
      } else if (!peerIsNamedPods(peer)) {
        report(where, `security: ${names} admits ${describePeer(peer)} to etcd's ${label}: ` +
                      'only named pods (Prometheus to the metrics port)');
      }
    }
    if (containerPort === clientPort) {
      for (const server of servers) {
        if (!peers.some((peer) => peerIsPods(peer, podLabels(server.object)))) {
          report(where, `security: ${names} does not admit ${server.name} to etcd's client ` +
                        `${label}`);
        }
      }
    }
    if (containerPort === peerPort && replicas(object) > 1 &&
        !peers.some((peer) => peerIsPods(peer, labels))) {
      report(where, `security: ${names} does not admit the members to each other's ${label}`);
    }
  }
}

function etcdClientPort(container) {
  const url = flagsOf([...(container.command || []), ...(container.args || [])])['listen-client-urls'];
  const match = /:(\d+)\/?$/.exec((url || '').split(',')[0]);
  return match ? Number(match[1]) : undefined;
}

// etcd: a StatefulSet whose pods start together, whose --initial-cluster
// names exactly its pods by the names its headless Service gives them, with
// its data on a volumeClaimTemplate, compaction on, its members required on
// different nodes, and a PodDisruptionBudget that keeps a majority.
function checkEtcd(objects, {file, name, object}, container) {
  const where = `${file}: ${name}`;
  const at = `${where}: container ${container.name}`;
  if (object.kind !== 'StatefulSet') {
    report(where, `policy: etcd runs in a ${object.kind}, not a StatefulSet: its members need ` +
                  'stable names and volumes of their own');
    return;
  }
  const n = replicas(object);
  if (n % 2 === 0) {
    report(where, `policy: ${n} etcd members: an even count tolerates no more failures ` +
                  `than ${n - 1}`);
  }
  if (n > 1 && object.spec.podManagementPolicy !== 'Parallel') {
    report(where, `policy: podManagementPolicy is not Parallel: ${object.metadata.name}-0 ` +
                  'cannot be Ready before a majority is up, and OrderedReady starts the others ' +
                  'only after it');
  }
  const environment = environmentOf(container, new Map());
  const words = [...(container.command || []), ...(container.args || [])];
  const serviceName = object.spec.serviceName;
  const members = [...Array(n).keys()].map((i) => `${object.metadata.name}-${i}`);
  // The flags as each member's kubelet expands them.
  const flagsFor = (pod) => {
    const own = {...environment};
    for (const [key, value] of Object.entries(own)) {
      if (value === '<metadata.name>') own[key] = pod;
    }
    return flagsOf(words.map((word) => expand(word, own)));
  };
  const cluster = new Map();
  for (const entry of (flagsOf(words)['initial-cluster'] || '').split(',').filter((e) => e)) {
    const equals = entry.indexOf('=');
    cluster.set(entry.slice(0, equals), entry.slice(equals + 1));
  }
  const listed = [...cluster.keys()];
  if (listed.length !== n || !members.every((member) => cluster.has(member))) {
    report(at, `policy: --initial-cluster names ${listed.length} members (${listed.join(', ')}) ` +
               `but the StatefulSet has ${n} replicas (${members.join(', ')})`);
  }
  const onService = (url, pod) => {
    const match = /^https?:\/\/([^:/]+)(?::\d+)?\/?$/.exec(url || '');
    return !!match && (match[1] === `${pod}.${serviceName}` ||
                       match[1].startsWith(`${pod}.${serviceName}.`));
  };
  for (const member of members) {
    const flags = flagsFor(member);
    if (flags.name !== member) {
      report(at, `policy: --name is ${flags.name} in pod ${member}, not the pod's name ` +
                 '(metadata.name, as --initial-cluster names it)');
    }
    const peer = flags['initial-advertise-peer-urls'];
    if (!onService(peer, member)) {
      report(at, `policy: pod ${member} advertises the peer URL ${peer}, not one under ` +
                 `${member}.${serviceName}`);
    }
    if (cluster.has(member) && cluster.get(member) !== peer) {
      report(at, `policy: --initial-cluster gives ${member} the peer URL ` +
                 `${cluster.get(member)}, but it advertises ${peer}`);
    }
    const client = flags['advertise-client-urls'];
    if (!onService(client, member)) {
      report(at, `policy: pod ${member} advertises the client URL ${client}, not one under ` +
                 `${member}.${serviceName}`);
    }
  }
  const flags = flagsOf(words);
  const dataDir = flags['data-dir'];
  const claims = (object.spec.volumeClaimTemplates || []).map((c) => c.metadata.name);
  const mount = (container.volumeMounts || []).find((m) =>
    dataDir === m.mountPath || (dataDir || '').startsWith(`${m.mountPath.replace(/\/$/, '')}/`));
  if (!dataDir || !mount || !claims.includes(mount.name)) {
    report(at, `policy: --data-dir (${dataDir}) is not on a volumeClaimTemplate: a member ` +
               'would lose its data with its pod');
  }
  if (!flags['auto-compaction-retention'] || /^0+[a-z]*$/.test(flags['auto-compaction-retention'])) {
    report(at, 'policy: --auto-compaction-retention is unset or 0: etcd keeps every revision ' +
               'until its quota fills, then refuses writes');
  }
  const service = serviceNamed(objects, file, serviceName);
  const labels = object.spec.template.metadata && object.spec.template.metadata.labels;
  if (!service || service.object.spec.clusterIP !== 'None' ||
      !serviceSelects(service.object, labels)) {
    report(where, `policy: serviceName ${serviceName} is not a headless Service here ` +
                  'selecting its pods: the members would have no DNS names');
  } else if (service.object.spec.publishNotReadyAddresses !== true) {
    report(where, `policy: Service ${serviceName} does not publish not-ready addresses: the ` +
                  'members could not find each other to become Ready');
  }
  if (n > 1) {
    const terms = antiAffinityTerms(podSpec(object)).required;
    if (!terms.some((t) => t.topologyKey === 'kubernetes.io/hostname' &&
                           selects(t.labelSelector, labels))) {
      report(where, 'policy: no required pod anti-affinity on kubernetes.io/hostname: two ' +
                    'members on one node lose the majority with it');
    }
    const quorum = Math.floor(n / 2) + 1;
    for (const {file: f, name: budget, object: o} of objects) {
      if (f !== file || o.kind !== 'PodDisruptionBudget' ||
          !selects(o.spec && o.spec.selector, labels)) continue;
      if (allowedDisruptions(o, n) > n - quorum) {
        report(where, `policy: ${budget} lets ${allowedDisruptions(o, n)} of ${n} members be ` +
                      `evicted at once: a majority is ${quorum}`);
      }
    }
  }
}

const objects = files.flatMap(loadObjects);
objects.forEach(checkSchema);
checkTypes(objects);
checkPolicy(objects);
for (const problem of problems) console.log(problem);
console.log(`check_manifests: ${objects.length} objects in ${files.length} files, ` +
            `${problems.length} problems`);
process.exit(problems.length === 0 ? 0 : 1);
