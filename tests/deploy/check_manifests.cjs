#!/usr/bin/env node
// Checks rendered Kubernetes manifests three ways, and prints every problem
// as "FILE: Kind/name: problem":
//   schema  each object validates against the Kubernetes OpenAPI schema of its
//           kind (npm kubernetes-models);
//   types   a TypeScript program that assigns each object, as an object
//           literal, to its kind's interface type-checks: TypeScript rejects
//           fields the type does not have, which the schemas let through, so
//           a misspelt field such as restartPolcy fails here;
//   policy  what lrsched's deployments promise an operator: non-root, read-only
//           root file system, no privilege escalation, no capabilities,
//           seccomp RuntimeDefault, requests and limits on every container;
//           gRPC startup, readiness and liveness probes on the server's port;
//           a grace period longer than the server's drain time; one pod count
//           in an Indexed Job.
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

function parseDuration(text) {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text || '');
  if (!match) return undefined;
  const unit = {ms: 0.001, s: 1, m: 60, h: 3600}[match[2]];
  return Number(match[1]) * unit;
}

function checkPolicy(objects) {
  const configMaps = new Map();
  for (const {object} of objects) {
    if (object.kind === 'ConfigMap') configMaps.set(object.metadata.name, object.data || {});
  }
  for (const {file, name, object} of objects) {
    const spec = podSpec(object);
    if (!spec) continue;
    const where = `${file}: ${name}`;
    const pod = spec.securityContext || {};
    if (pod.runAsNonRoot !== true) report(where, 'policy: securityContext.runAsNonRoot is not true');
    if (!(pod.seccompProfile && pod.seccompProfile.type === 'RuntimeDefault')) {
      report(where, 'policy: securityContext.seccompProfile.type is not RuntimeDefault');
    }
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
      if (container.name !== 'lrsched-server') continue;

      const port = ((container.ports || []).find((p) => p.name === 'grpc') || {}).containerPort;
      if (!port) report(at, 'policy: no container port named grpc');
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        const grpc = container[probe] && container[probe].grpc;
        if (!grpc) {
          report(at, `policy: ${probe} is not a gRPC probe`);
        } else if (grpc.port !== port) {
          report(at, `policy: ${probe} probes port ${grpc.port}, not the grpc port ${port}`);
        } else if (grpc.service) {
          report(at, `policy: ${probe} asks for service "${grpc.service}", not ""`);
        }
      }
      const environment = {};
      for (const source of container.envFrom || []) {
        if (source.configMapRef) Object.assign(environment, configMaps.get(source.configMapRef.name));
      }
      for (const variable of container.env || []) environment[variable.name] = variable.value;
      const drain = parseDuration(environment.LRSCHED_DRAIN_TIMEOUT);
      const grace = spec.terminationGracePeriodSeconds;
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
    }
    if (object.kind === 'Job' && object.spec.completionMode === 'Indexed') {
      const pods = containers.flatMap((c) => c.env || []).find((v) => v.name === 'LRSCHED_PODS');
      const counts = [object.spec.completions, object.spec.parallelism, pods && Number(pods.value)];
      if (!counts.every((n) => n === counts[0])) {
        report(where, `policy: completions, parallelism and LRSCHED_PODS differ (${counts})`);
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
