#!/usr/bin/env node
// Runs the ha overlay on this machine as its manifests say: every etcd member
// of the StatefulSet with its command, arguments and environment, and the
// server's replicas with the Deployment's environment (its ConfigMap, the pod
// IP from the downward API). Each pod gets an address of its own on the
// loopback network (127.0.0.10 + i for etcd member i, 127.0.0.20 + j for
// server replica j), with the manifests' ports, and the names of the headless
// Service (lrsched-etcd-<i>.lrsched-etcd) resolve to the members' addresses:
// what a pod's network namespace and the cluster's DNS give it. The pods are
// in the namespace lrsched (metadata.namespace from the downward API), as
// with kubectl apply -n lrsched. The only rewrites are those: a name to its
// pod's address, 0.0.0.0 to the pod's own address (in a pod it is that one),
// the data volume to a directory.
//
// Checks: the members form one cluster of the StatefulSet's size and each
// passes its readiness probe; every replica passes its startup probe; a job
// created through one replica is served by one leader, whichever replica is
// asked (lrschedctl get through a standby names it); the leader, sent
// SIGTERM, exits 0 within the grace period and a standby leads sooner than
// the lease TTL (the lease was revoked, not waited out), a standby's call
// reaching the new leader; the replicas wrote nothing in their working
// directories; every process stops on SIGTERM within its grace period.
// Security: the replicas are probed on their plaintext health port
// (LRSCHED_HEALTH_LISTEN); their Secret volumes are directories made here (a
// callers file with an operator token made at random, and lrsched-tls the
// certificate CERT_DIR/tls.crt and key tls.key for the Service's names, and
// the CA CERT_DIR/ca.pem as ca.crt). Where the replicas serve TLS, they must
// say so at start, their gRPC port must refuse plaintext, and every call
// (buf curl, lrschedctl) goes over TLS verified against the CA for the
// Service's name lrsched.lrsched.svc, which trainers dial; a standby
// forwards to the leader over TLS as its LRSCHED_TLS_REPLICA_* say, so a
// call through a standby that reaches the leader shows that the leader's
// certificate verified. Every call carries the token, and one without it
// must be refused UNAUTHENTICATED.
//
// Usage: ha_launch_test.cjs RENDERED_HA.yaml BIN_DIR TOOLS_DIR PROTO_DIR LRSCHEDCTL [CERT_DIR]
//   BIN_DIR holds lrsched-server; etcd is the manifest's command (Debian's
//   etcd-server, deploy/install-deps.sh build); TOOLS_DIR the npm tools (yaml,
//   buf); PROTO_DIR the service's .proto files, which buf curl reads rather
//   than asking reflection (a standby's reflection describes only health).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const http = require('http');
const childProcess = require('child_process');

const [manifestFile, binDir, toolsDir, protoDir, lrschedctl, certDir] = process.argv.slice(2);
if (!lrschedctl) {
  console.error('usage: ha_launch_test.cjs RENDERED_HA.yaml BIN_DIR TOOLS_DIR PROTO_DIR LRSCHEDCTL');
  process.exit(2);
}
const modules = path.resolve(toolsDir, 'node_modules');
const YAML = require(path.join(modules, 'yaml'));
const buf = path.join(modules, '.bin', 'buf');

const {fail, start, tail, portIsFree, sleep} = require('./launch_common.cjs')('ha_launch_test');
const seconds = (ms) => (ms / 1000).toFixed(2);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lrsched-ha-launch-'));
process.on('exit', () => fs.rmSync(work, {recursive: true, force: true}));

// The operator's bearer token, made here; the callers file knows its SHA-256.
const crypto = require('crypto');
const token = crypto.randomBytes(24).toString('hex');
const tokenFile = path.join(work, 'operator.token');
fs.writeFileSync(tokenFile, token, {mode: 0o600});
// What the Secrets hold, by file name: what an operator's kubectl create
// secret (deploy/README.md, Security) puts there.
const secretFiles = {
  'callers.yaml': () => 'callers:\n  - name: ha-launch-operator\n    role: operator\n' +
                        `    token_sha256: ${crypto.createHash('sha256').update(token).digest('hex')}\n`,
  'token': () => token,
  'tls.crt': () => fs.readFileSync(path.join(certDir, 'tls.crt')),
  'tls.key': () => fs.readFileSync(path.join(certDir, 'tls.key')),
  'ca.crt': () => fs.readFileSync(path.join(certDir, 'ca.pem')),
};

// --- What the manifests say ---------------------------------------------------
const objects = YAML.parseAllDocuments(fs.readFileSync(manifestFile, 'utf8'))
                    .map((d) => d.toJS()).filter(Boolean);
const configMaps = new Map(objects.filter((o) => o.kind === 'ConfigMap')
                                  .map((o) => [o.metadata.name, o.data || {}]));
const isEtcd = (c) => path.basename((c.command || [])[0] || '') === 'etcd';
const statefulSet = objects.find((o) => o.kind === 'StatefulSet' &&
                                        o.spec.template.spec.containers.some(isEtcd));
if (!statefulSet) fail(`${manifestFile} has no StatefulSet running etcd`);
const deployment = objects.find((o) => o.kind === 'Deployment' &&
  o.spec.template.spec.containers.some((c) => c.name === 'lrsched-server'));
if (!deployment) fail(`${manifestFile} has no Deployment running lrsched-server`);
const etcdPod = statefulSet.spec.template.spec;
const etcd = etcdPod.containers.find(isEtcd);
const serverPod = deployment.spec.template.spec;
const server = serverPod.containers.find((c) => c.name === 'lrsched-server');
const members = statefulSet.spec.replicas ?? 1;
const replicas = deployment.spec.replicas ?? 1;
const memberName = (i) => `${statefulSet.metadata.name}-${i}`;
const memberAddress = (i) => `127.0.0.${10 + i}`;
const replicaAddress = (j) => `127.0.0.${20 + j}`;
// The namespace the pods run in, and the name trainers dial: the Service of
// the replicas' gRPC port in it (lrsched.lrsched.svc), for which the
// certificate is made, and which a client verifies.
const NAMESPACE = 'lrsched';
const service = objects.find((o) => o.kind === 'Service' && o.spec.selector &&
  Object.entries(o.spec.selector).every(([k, v]) =>
    ((deployment.spec.template.metadata || {}).labels || {})[k] === v) &&
  (o.spec.ports || []).some((p) => p.targetPort === 'grpc'));
if (!service) fail(`${manifestFile} has no Service of the replicas' gRPC port`);
const serviceName = `${service.metadata.name}.${NAMESPACE}.svc`;
const caFile = certDir && path.join(certDir, 'ca.pem');
if (members > 10 || replicas > 10) fail('more than ten pods of a kind: no loopback addresses');

// The cluster's DNS: NAME-<i>.SERVICE[.NAMESPACE...] is member i's pod. A
// name of a pod that does not exist stays, and resolves to nothing.
const memberHost = new RegExp(
  `\\b${statefulSet.metadata.name}-(\\d+)\\.${statefulSet.spec.serviceName}(?:\\.[a-z0-9.-]*[a-z0-9])?\\b`,
  'g');
function inPod(text, podAddress) {
  return String(text)
      .replace(memberHost, (name, i) => (Number(i) < members ? memberAddress(Number(i)) : name))
      .replace(/\b0\.0\.0\.0\b/g, podAddress);
}
// $(NAME) as the kubelet expands it.
function expand(text, environment) {
  return String(text).replace(/\$\(([A-Za-z_][\w.-]*)\)/g,
                              (whole, name) => (name in environment ? environment[name] : whole));
}
// A container's environment in pod `pod` at `address`.
function environmentOf(container, pod, address) {
  const environment = {};
  for (const source of container.envFrom || []) {
    if (!source.configMapRef) fail(`envFrom ${JSON.stringify(source)} is not a ConfigMap`);
    const data = configMaps.get(source.configMapRef.name);
    if (!data) fail(`the ConfigMap ${source.configMapRef.name} is not in the manifest`);
    Object.assign(environment, data);
  }
  const fields = {'metadata.name': pod, 'metadata.namespace': NAMESPACE, 'status.podIP': address};
  for (const variable of container.env || []) {
    if (variable.value !== undefined) {
      environment[variable.name] = expand(variable.value, environment);
    } else if (variable.valueFrom && variable.valueFrom.fieldRef &&
               variable.valueFrom.fieldRef.fieldPath in fields) {
      environment[variable.name] = fields[variable.valueFrom.fieldRef.fieldPath];
    } else {
      fail(`env ${variable.name} is neither a value nor one of ${Object.keys(fields)}`);
    }
  }
  for (const name of Object.keys(environment)) {
    environment[name] = inPod(environment[name], address);
  }
  return environment;
}
// A Secret volume of a pod is a directory here with the files its name and
// keys call for: [mountPath, directory] for each Secret mount of container.
function secretMounts(container, podSpec) {
  const mounts = [];
  for (const mount of container.volumeMounts || []) {
    const volume = (podSpec.volumes || []).find((v) => v.name === mount.name);
    if (!volume || !volume.secret) continue;
    const directory = path.join(work, 'secrets', volume.secret.secretName);
    if (!fs.existsSync(directory)) {
      fs.mkdirSync(directory, {recursive: true});
      const names = volume.secret.secretName.endsWith('-tls') ? ['tls.crt', 'tls.key', 'ca.crt']
                                                              : ['callers.yaml'];
      for (const name of names) {
        if (name.startsWith('tls.') || name === 'ca.crt') {
          if (!certDir) fail(`the Secret ${volume.secret.secretName} needs CERT_DIR`);
        }
        fs.writeFileSync(path.join(directory, name), secretFiles[name](), {mode: 0o440});
      }
    }
    mounts.push([mount.mountPath.replace(/\/$/, ''), directory]);
  }
  return mounts;
}
function onMounts(environment, mounts) {
  for (const name of Object.keys(environment)) {
    for (const [mountPath, directory] of mounts) {
      if (environment[name].startsWith(`${mountPath}/`)) {
        environment[name] = directory + environment[name].slice(mountPath.length);
      }
    }
  }
  return environment;
}
function portOf(container, port) {
  if (typeof port === 'number') return port;
  const named = (container.ports || []).find((p) => p.name === port);
  if (!named) fail(`container ${container.name} has no port named ${port}`);
  return named.containerPort;
}


function httpRequest(method, url, body) {
  return new Promise((resolve) => {
    const request = http.request(url, {method, timeout: 3000}, (response) => {
      let text = '';
      response.on('data', (d) => { text += d; });
      response.on('end', () => resolve({status: response.statusCode, text}));
    });
    request.on('error', (error) => resolve({status: 0, text: error.message}));
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.end(body);
  });
}
const HEALTH_PROTO = '/usr/share/grpc-proto/grpc/health/v1/health.proto';
// Whether the replicas serve TLS on their gRPC port (set once the manifest
// is read): calls to it then go over TLS, verified against the CA for the
// Service's name.
let serverTls = false;
// A call with buf curl, with the operator's token unless {token: false}; to
// the gRPC port over TLS where it serves TLS, unless {plaintext: true}; the
// health port (a health check) in plaintext, as the kubelet probes it.
function call(address, method, body, timeoutSeconds = 5,
              {token: withToken = true, plaintext = !serverTls || !method.startsWith('lrsched.')} = {}) {
  // The health port serves no reflection: health.proto from grpc-proto
  // (deploy/install-deps.sh), as lrsched's protos for its own service.
  const schema = method.startsWith('lrsched.') ? ['--schema', protoDir]
                                                : ['--schema', HEALTH_PROTO];
  const authorization = withToken ? ['-H', `authorization: Bearer ${token}`] : [];
  const transport = plaintext ? ['--http2-prior-knowledge']
                              : ['--cacert', caFile, '--servername', serviceName];
  const result = childProcess.spawnSync(buf, [
    'curl', ...schema, ...authorization, '--protocol', 'grpc', ...transport,
    '--connect-timeout', '2',
    '--timeout', `${timeoutSeconds}s`, '--data', JSON.stringify(body),
    `${plaintext ? 'http' : 'https'}://${address}/${method}`], {encoding: 'utf8'});
  return {ok: result.status === 0, out: result.stdout + result.stderr,
          json: result.status === 0 ? JSON.parse(result.stdout) : undefined};
}

// Stops a pod as the kubelet does: SIGTERM, then the grace period.
async function stop(child, grace) {
  const sent = Date.now();
  child.kill('SIGTERM');
  const timer = setTimeout(() => fail(`${child.what}: still running ${grace}s after SIGTERM; ` +
                                      `the kubelet would kill it now:\n${tail(child)}`),
                           grace * 1000);
  const exit = await child.exited;
  clearTimeout(timer);
  return {...exit, after: exit.at - sent};
}

(async () => {
  // --- etcd ----------------------------------------------------------------------
  const etcdPorts = (etcd.ports || []).map((p) => p.containerPort);
  for (let i = 0; i < members; i++) {
    for (const port of etcdPorts) {
      if (!(await portIsFree(memberAddress(i), port))) {
        fail(`port ${port} of ${memberAddress(i)} (member ${i}) is in use here`);
      }
    }
  }
  const claims = (statefulSet.spec.volumeClaimTemplates || []).map((c) => c.metadata.name);
  const etcds = [];
  for (let i = 0; i < members; i++) {
    const pod = memberName(i);
    const environment = environmentOf(etcd, pod, memberAddress(i));
    // Each claim's volume is a directory of the member's own.
    const volumes = (etcd.volumeMounts || []).filter((m) => claims.includes(m.name)).map((m) => {
      const directory = path.join(work, pod, m.name);
      fs.mkdirSync(directory, {recursive: true});
      return [m.mountPath.replace(/\/$/, ''), directory];
    });
    const onVolume = (word) => {
      for (const [mountPath, directory] of volumes) {
        word = word.replace(new RegExp(`(^|=)${mountPath}(?=/|$)`), `$1${directory}`);
      }
      return word;
    };
    const command = [...(etcd.command || []), ...(etcd.args || [])]
                        .map((word) => onVolume(inPod(expand(word, environment), memberAddress(i))));
    if (i === 0) console.log(`${pod}: ${command.join(' ')}`);
    etcds.push(start(pod, command, {cwd: volumes.length ? volumes[0][1] : work,
                                    env: {PATH: '/usr/bin:/bin', ...environment}}));
  }
  // Every member passes its readiness probe: one cluster with a leader.
  const readiness = etcd.readinessProbe && etcd.readinessProbe.httpGet;
  if (!readiness) fail('the etcd container has no httpGet readiness probe');
  const readyPort = portOf(etcd, readiness.port);
  const formed = Date.now();
  for (let i = 0; i < members; i++) {
    const url = `http://${memberAddress(i)}:${readyPort}${readiness.path}`;
    for (let attempt = 0; ; attempt++) {
      const answer = await httpRequest('GET', url);
      if (answer.status === 200 && /"health":\s*"true"/.test(answer.text)) break;
      if (etcds[i].exitCode_ !== undefined || etcds[i].exitSignal_) {
        fail(`${memberName(i)} exited with ${etcds[i].exitCode_} before Ready:\n${tail(etcds[i])}`);
      }
      if (attempt === 120) fail(`${memberName(i)} not Ready after 60 s:\n${tail(etcds[i])}`);
      await sleep(500);
    }
  }
  console.log(`etcd: ${members} members Ready ${seconds(Date.now() - formed)}s after start ` +
              `(GET ${readiness.path} on port ${readyPort})`);
  const listed = await httpRequest('POST', `http://${memberAddress(0)}:${readyPort}/v3/cluster/member/list`,
                                   '{}');
  const names = ((JSON.parse(listed.text || '{}').members) || []).map((m) => m.name).sort();
  const expected = [...Array(members).keys()].map(memberName).sort();
  if (names.join() !== expected.join()) {
    fail(`the etcd cluster's members are ${names}, not the StatefulSet's pods ${expected}`);
  }
  console.log(`etcd: one cluster of ${names.join(', ')}`);

  // --- lrsched-server ------------------------------------------------------------
  const grpcPort = portOf(server, 'grpc');
  const startup = server.startupProbe && server.startupProbe.grpc;
  if (!startup) fail('lrsched-server has no gRPC startup probe');
  const period = server.startupProbe.periodSeconds || 10;
  const threshold = server.startupProbe.failureThreshold || 3;
  const serverGrace = serverPod.terminationGracePeriodSeconds ?? 30;
  const servers = [];
  for (let j = 0; j < replicas; j++) {
    const address = replicaAddress(j);
    for (const port of (server.ports || []).map((p) => p.containerPort)) {
      if (!(await portIsFree(address, port))) fail(`port ${port} of ${address} is in use here`);
    }
    const environment = onMounts(environmentOf(server, `${deployment.metadata.name}-${j}`, address),
                                 secretMounts(server, serverPod));
    if (j === 0) {
      console.log(`lrsched-server: env ${JSON.stringify(environment)}`);
      serverTls = !!environment.LRSCHED_TLS_CERT_FILE;
      if (serverTls && !certDir) fail('the replicas serve TLS: give CERT_DIR');
    }
    const workingDir = path.join(work, `server-${j}`);
    fs.mkdirSync(workingDir);
    const child = start(`replica ${j}`, server.command || ['lrsched-server'],
                        {cwd: workingDir,
                         env: {PATH: `${path.resolve(binDir)}:/usr/bin:/bin`, ...environment}});
    child.address = `${address}:${grpcPort}`;
    child.healthAddress = `${address}:${startup.port}`;
    child.workingDir = workingDir;
    child.environment = environment;
    servers.push(child);
  }
  for (const child of servers) {
    for (let attempt = 1; ; attempt++) {
      const health = call(child.healthAddress, 'grpc.health.v1.Health/Check', {}, 5,
                          {token: false});
      if (health.ok && health.json.status === 'SERVING') {
        console.log(`${child.what} (${child.healthAddress}): SERVING at probe ${attempt}`);
        break;
      }
      if (child.exitCode_ !== undefined || child.exitSignal_) {
        fail(`${child.what} exited with ${child.exitCode_} before SERVING:\n${tail(child)}`);
      }
      if (attempt === threshold) {
        fail(`${child.what} not SERVING after ${threshold} probes ${period}s apart:\n${tail(child)}`);
      }
      await sleep(Math.min(period, 1) * 1000);
    }
  }
  // TLS: every replica says so at start, and its gRPC port refuses plaintext.
  if (serverTls) {
    for (const child of servers) {
      for (let i = 0; !/"event":"server_started"/.test(child.output); i++) {
        if (i === 50) fail(`${child.what}: no server_started line 5 s after SERVING:\n${tail(child)}`);
        await sleep(100);
      }
      const started = child.output.split('\n').find((l) => l.includes('"event":"server_started"'));
      const transport = /"transport":"([a-z-]+)"/.exec(started);
      if (!transport || !/^(mutual-)?tls$/.test(transport[1])) {
        fail(`${child.what} does not serve TLS (transport ${transport && transport[1]}):\n${tail(child)}`);
      }
      const plaintext = call(child.address, 'grpc.health.v1.Health/Check', {}, 5,
                             {token: false, plaintext: true});
      if (plaintext.ok) fail(`${child.what}'s gRPC port answers plaintext: ${plaintext.out}`);
    }
    console.log(`every replica: transport tls, plaintext refused on the gRPC port; calls go ` +
                `over TLS, verified for ${serviceName}`);
  }
  // One leader serves the job, whichever replica is asked.
  const created = call(servers[replicas - 1].address, 'lrsched.v1.SchedulerService/CreateJob', {
    jobId: 'ha-launch', baseLrs: [0.1], worldSize: 1, spec: {stepLr: {stepSize: 10, gamma: 0.5}}},
    15);
  if (!created.ok) fail(`CreateJob: ${created.out}`);
  const servedBy = new Set();
  for (const child of servers) {
    const seen = call(child.address, 'lrsched.v1.SchedulerService/GetJob', {jobId: 'ha-launch'});
    if (!seen.ok) fail(`GetJob through ${child.what}: ${seen.out}`);
    servedBy.add(seen.json.servedBy);
  }
  if (servedBy.size !== 1) fail(`the replicas name different leaders: ${[...servedBy]}`);
  // With a callers file, a call without the token is refused, on every replica.
  if (servers[0].environment.LRSCHED_AUTH_TOKENS_FILE) {
    for (const child of servers) {
      const refused = call(child.address, 'lrsched.v1.SchedulerService/GetJob',
                           {jobId: 'ha-launch'}, 5, {token: false});
      if (refused.ok || !/unauthenticated/i.test(refused.out)) {
        fail(`GetJob without a token through ${child.what} was not refused UNAUTHENTICATED: ` +
             refused.out);
      }
    }
    console.log('every replica: a call without the token is refused UNAUTHENTICATED');
  }
  const leaderAddress = [...servedBy][0];
  const leader = servers.find((child) => child.address === leaderAddress);
  if (!leader) fail(`the leader ${leaderAddress} is none of the replicas' advertised addresses`);
  console.log(`every replica: the job is served by ${leaderAddress} (${leader.what})`);
  // lrschedctl asked through a standby names the leader too.
  const standby = servers.find((child) => child !== leader);
  const tlsFlags = serverTls ? [`--tls_ca_file=${caFile}`, `--tls_server_name=${serviceName}`] : [];
  const got = childProcess.spawnSync(lrschedctl, [`--server=${standby.address}`, ...tlsFlags,
                                                  '--timeout=15s', `--token_file=${tokenFile}`,
                                                  'get', 'ha-launch'],
                                     {encoding: 'utf8'});
  if (got.status !== 0 || !got.stdout.includes(`served by:        ${leaderAddress} `)) {
    fail(`lrschedctl get through ${standby.what} (exit ${got.status}) does not name the leader ` +
         `${leaderAddress}:\n${got.stdout}${got.stderr}`);
  }
  console.log(`lrschedctl get through ${standby.what}${serverTls ? ' (TLS, token)' : ''}: ` +
              `served by ${leaderAddress}`);
  // The web page's port of every replica (kubectl port-forward reaches any
  // pod): the page, and the JSON API served by the leader through the
  // replica's own gRPC port; only with a token where callers are checked,
  // since that connection presents the replica's own certificate.
  const httpPort = portOf(server, 'http');
  const pageGetJob = (child, headers) => fetch(
      `http://${child.address.split(':')[0]}:${httpPort}/api/v1/GetJob`, {
        method: 'POST', headers: {'Content-Type': 'application/json', ...headers},
        body: JSON.stringify({job_id: 'ha-launch'})});
  // Answered at the first call, by `leader`.
  const pageServes = async (child, leader) => {
    const answered = await pageGetJob(child, {Authorization: `Bearer ${token}`});
    const text = await answered.text();
    if (answered.status !== 200 || JSON.parse(text).served_by !== leader) {
      fail(`GetJob on the http port of ${child.what} with the token: ${answered.status} ${text} ` +
           `(the leader is ${leader})`);
    }
  };
  for (const child of servers) {
    const page = await fetch(`http://${child.address.split(':')[0]}:${httpPort}/`);
    if (page.status !== 200 || !/lrsched/.test(await page.text())) {
      fail(`GET / on the http port of ${child.what} answered ${page.status}`);
    }
    if (child.environment.LRSCHED_AUTH_TOKENS_FILE) {
      const refused = await pageGetJob(child, {});
      if (refused.status !== 401) {
        fail(`GetJob on the http port of ${child.what} without a token: ${refused.status} ` +
             (await refused.text()));
      }
    }
    await pageServes(child, leaderAddress);
  }
  console.log(`every replica's http port ${httpPort}: the page, and GetJob served by the ` +
              `leader, only with a token`);

  // SIGTERM to the leader: it drains, revokes its lease, and a standby leads
  // at once, well before the lease would have run out.
  const leaseTtl = /^(\d+)s$/.exec(servers[0].environment.LRSCHED_LEASE_TTL || '5s');
  if (!leaseTtl) fail(`LRSCHED_LEASE_TTL=${servers[0].environment.LRSCHED_LEASE_TTL} is not in seconds`);
  const ttl = Number(leaseTtl[1]);
  const stopped = await stop(leader, serverGrace);
  if (stopped.code !== 0) fail(`the leader exited with ${stopped.code} (${stopped.signal}):\n${tail(leader)}`);
  console.log(`${leader.what}: exit 0 ${seconds(stopped.after)}s after SIGTERM (grace ${serverGrace}s)`);
  const standbys = servers.filter((child) => child !== leader);
  if (standbys.length > 0) {
    let handedOver;
    for (let attempt = 0; ; attempt++) {
      const seen = call(standbys[0].address, 'lrsched.v1.SchedulerService/GetJob',
                        {jobId: 'ha-launch'}, 2);
      if (seen.ok && seen.json.servedBy && seen.json.servedBy !== leaderAddress) {
        handedOver = {at: Date.now(), by: seen.json.servedBy};
        break;
      }
      if (Date.now() - stopped.at > 3 * ttl * 1000) {
        fail(`no standby leads ${3 * ttl}s after the leader stopped: ${seen.out}`);
      }
      await sleep(100);
    }
    const after = handedOver.at - stopped.at;
    if (after >= ttl * 1000) {
      fail(`a standby led ${seconds(after)}s after the leader stopped, not sooner than the ` +
           `lease TTL (${ttl}s): the lease was not revoked`);
    }
    console.log(`${handedOver.by} leads ${seconds(after)}s after the leader's exit ` +
                `(lease TTL ${ttl}s): handed over, not timed out`);
    // Every replica left names the new leader: a standby forwards to it.
    for (const child of standbys) {
      const seen = call(child.address, 'lrsched.v1.SchedulerService/GetJob', {jobId: 'ha-launch'},
                        15);
      if (!seen.ok || seen.json.servedBy !== handedOver.by) {
        fail(`GetJob through ${child.what} after the hand-over is not served by the new leader ` +
             `${handedOver.by}: ${seen.out}`);
      }
    }
    // The page of each, the new leader's included (its server was replaced
    // on its port when it took over): at once, by the new leader.
    for (const child of standbys) await pageServes(child, handedOver.by);
    console.log(`every replica left: the job is served by the new leader ${handedOver.by}, ` +
                `on the gRPC and the http port`);
  }
  for (const child of standbys) {
    const exit = await stop(child, serverGrace);
    if (exit.code !== 0) fail(`${child.what} exited with ${exit.code} (${exit.signal}):\n${tail(child)}`);
    console.log(`${child.what}: exit 0 ${seconds(exit.after)}s after SIGTERM`);
  }
  for (const child of servers) {
    const written = fs.readdirSync(child.workingDir);
    if (written.length) fail(`${child.what} wrote ${written} in its working directory`);
  }
  console.log(`every replica: exit 0 on SIGTERM, nothing written outside etcd`);

  const etcdGrace = etcdPod.terminationGracePeriodSeconds ?? 30;
  for (const child of etcds) {
    const exit = await stop(child, etcdGrace);
    console.log(`${child.what}: stopped ${seconds(exit.after)}s after SIGTERM`);
    // etcd re-raises SIGTERM once it has stopped.
    if (!(exit.code === 0 || exit.signal === 'SIGTERM')) {
      fail(`${child.what} exited with ${exit.code} (${exit.signal}):\n${tail(child)}`);
    }
  }
  console.log(`etcd: every member stopped on SIGTERM within ${etcdGrace}s`);
})().catch((error) => fail(error.stack));
