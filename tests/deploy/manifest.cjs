// The rendered manifests as a kubelet reads them, for the tests that start
// their containers: the objects of a file, and of a container its command and
// arguments and its environment (its ConfigMaps, then its own values), so that
// every such test runs what the manifests say and none keeps a copy of it.
'use strict';
const fs = require('fs');
const path = require('path');

// `toolsDir`: the npm tools (yaml); `fail(message)` reports a manifest that
// cannot run as it stands and does not return.
module.exports = function manifests(toolsDir, fail) {
  const YAML = require(path.join(path.resolve(toolsDir), 'node_modules', 'yaml'));

  function load(file) {
    return YAML.parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => d.toJS())
               .filter(Boolean);
  }
  function configMapsOf(objects) {
    return new Map(objects.filter((o) => o.kind === 'ConfigMap')
                          .map((o) => [o.metadata.name, o.data || {}]));
  }
  // Only plain values: a test cannot stand for the downward API or a Secret.
  function environmentOf(container, configMaps) {
    const environment = {};
    for (const source of container.envFrom || []) {
      if (!source.configMapRef) fail(`envFrom ${JSON.stringify(source)} is not a ConfigMap`);
      const data = configMaps.get(source.configMapRef.name);
      if (!data) fail(`the ConfigMap ${source.configMapRef.name} is not in the manifest`);
      Object.assign(environment, data);
    }
    for (const variable of container.env || []) {
      if (variable.value === undefined) fail(`env ${variable.name} is not a plain value`);
      environment[variable.name] = variable.value;
    }
    return environment;
  }
  const commandOf = (container) => [...(container.command || []), ...(container.args || [])];

  // The training Job of the sidecar overlay: its pod, the native sidecar (an
  // init container with restartPolicy Always) and the trainer.
  function sidecarJob(objects, file) {
    const job = objects.find((o) => o.kind === 'Job');
    if (!job) fail(`${file} has no Job`);
    const pod = job.spec.template.spec;
    const sidecar = (pod.initContainers || []).find((c) => c.restartPolicy === 'Always');
    if (!sidecar) fail('the Job has no native sidecar (an init container with restartPolicy Always)');
    const trainer = (pod.containers || [])[0];
    if (!trainer) fail('the Job has no container');
    return {job, pod, sidecar, trainer, grace: pod.terminationGracePeriodSeconds ?? 30};
  }
  return {load, configMapsOf, environmentOf, commandOf, sidecarJob};
};
