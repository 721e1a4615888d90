#!/usr/bin/env node
// Runs the built images as the rendered manifests run them, each pod a podman
// pod on a network of its own, each container with the manifest's command,
// arguments, environment, working directory, user and security context
// (read-only root, capabilities dropped, no privilege escalation), its
// volumes as a kubelet makes them: emptyDir a directory of mode 0777 (tmpfs
// where the medium is Memory), a PersistentVolumeClaim a podman volume,
// ConfigMaps and Secrets read-only directories of files in the volume's mode
// and group fsGroup.
//
// The shared overlay's server, its Secrets made here (a certificate for the
// Service from CERT_DIR, a callers file of an operator token made at random):
// it passes its startup probe on its health port; lrschedctl, outside the
// container and inside it, creates and finds a job over TLS with the token;
// on SIGTERM it exits 0 within the grace period, having written only its
// state file; a new pod on the same claim serves the job again.
//
// The sidecar overlay's Job, one pod per completion index named JOB-INDEX and
// found as JOB-INDEX.SUBDOMAIN by every pod (the headless Service), its
// Secret an ssh key pair made here: the native sidecar first, the trainer
// once the sidecar's startup probe passes. Pod 0's trainer (mpirun over ssh
// across the pods) exits 0, every rank trained with the same rates every
// epoch, and the other containers, sent SIGTERM as the Job's success policy
// ends the pods (the sidecars last), exit 0 within the grace period.
//
// Usage: image_run_test.cjs SHARED.yaml SIDECAR.yaml TOOLS_DIR WORK_DIR NETWORK
//                           LRSCHEDCTL CERT_DIR
//   WORK_DIR holds the pods' volumes; NETWORK is a podman network made here,
//   its removal the caller's. The trainer gets --trace_out, the only argument
//   the manifest does not give it, to write the rates of each rank.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const childProcess = require('child_process');

const [sharedFile, sidecarFile, toolsDir, work, network, lrschedctl, certDir] =
  process.argv.slice(2);
const {fail, sleep} = require('./launch_common.cjs')('deploy_images');
const manifests = require('./manifest.cjs')(toolsDir, fail);
const buf = path.join(path.resolve(toolsDir), 'node_modules', '.bin', 'buf');
// Health ports serve no reflection: buf reads the service from its proto.
const HEALTH_PROTO = '/usr/share/grpc-proto/grpc/health/v1/health.proto';

function podman(args, {check = true, input} = {}) {
  const result = childProcess.spawnSync('podman', args, {encoding: 'utf8', input});
  if (check && result.status !== 0) {
    fail(`podman ${args.join(' ')}: exit ${result.status}\n${result.stdout}${result.stderr}`);
  }
  return result;
}
const running = [];
function failWithLogs(message) {
  const logs = running.map((name) => {
    const result = podman(['logs', name], {check: false});
    return `--- ${name}\n${(result.stdout + result.stderr).trim().split('\n').slice(-25).join('\n')}`;
  });
  fail(`${message}\n${logs.join('\n')}`);
}
// podman wait for at most `seconds`: the container's exit code, or null.
function waitExit(name, seconds) {
  const result = childProcess.spawnSync('timeout', [String(seconds), 'podman', 'wait', name],
                                        {encoding: 'utf8'});
  return result.status === 0 ? Number(result.stdout.trim()) : null;
}
// SIGTERM, as the kubelet stops a container: exit 0 within the grace period.
function stop(name, grace) {
  const sigterm = Date.now();
  podman(['kill', '--signal=TERM', name]);
  const exit = waitExit(name, grace);
  const seconds = ((Date.now() - sigterm) / 1000).toFixed(1);
  if (exit === null) failWithLogs(`${name} still runs ${grace}s after SIGTERM`);
  if (exit !== 0) failWithLogs(`${name} exited with ${exit} on SIGTERM`);
  console.log(`${name}: exit 0 ${seconds}s after SIGTERM (grace ${grace}s)`);
}
function healthy(address, port) {
  const result = childProcess.spawnSync(buf, [
    'curl', '--schema', HEALTH_PROTO, '--protocol', 'grpc', '--http2-prior-knowledge',
    '--connect-timeout', '2', '--timeout', '5s', '--data', '{}',
    `http://${address}:${port}/grpc.health.v1.Health/Check`],
  {encoding: 'utf8'});
  return result.status === 0 && JSON.parse(result.stdout).status === 'SERVING';
}
// The startup probe (gRPC, service ""), from the node as the kubelet probes.
async function startupProbe(name, container, address) {
  const probe = container.startupProbe;
  if (!probe || !probe.grpc) fail(`${name} has no gRPC startup probe`);
  const period = probe.periodSeconds || 10;
  for (let attempt = 1; attempt <= (probe.failureThreshold || 3); attempt++) {
    if (healthy(address, probe.grpc.port)) {
      console.log(`${name}: SERVING on port ${probe.grpc.port} at probe ${attempt}`);
      return;
    }
    const state = podman(['inspect', '--format', '{{.State.Status}}', name]).stdout.trim();
    if (state !== 'running') failWithLogs(`${name} is ${state} before its startup probe passed`);
    await sleep(period * 1000);
  }
  failWithLogs(`${name} did not pass its startup probe`);
}

// --- Pods as the manifests describe them -----------------------------------
podman(['network', 'create', network]);
const subnet = JSON.parse(podman(['network', 'inspect', network]).stdout)[0]
                 .subnets[0].subnet;
const addressPrefix = subnet.replace(/\.0\/24$/, '.');
if (addressPrefix === subnet) fail(`the network ${network} has subnet ${subnet}, not a /24`);
const address = (host) => `${addressPrefix}${host}`;

// Files of a volume as a kubelet writes them: the volume's mode, group fsGroup.
function fillDirectory(directory, files, mode, fsGroup) {
  fs.mkdirSync(directory, {recursive: true});
  for (const [name, content] of files) {
    const file = path.join(directory, name);
    fs.writeFileSync(file, content);
    fs.chownSync(file, 0, fsGroup ?? 0);
    fs.chmodSync(file, mode);
  }
}

// One pod of `spec` (a pod template's spec) named `name`; `secrets` maps a
// Secret's name to its files. `hosts` are the pod's /etc/hosts entries.
function makePod({name, spec, configMaps, secrets, host, hosts = []}) {
  const fsGroup = spec.securityContext?.fsGroup;
  const pod = {name, address: address(host), containers: []};
  podman(['pod', 'create', `--name=${name}`, `--hostname=${name}`, `--network=${network}`,
          `--ip=${pod.address}`, ...hosts.map((h) => `--add-host=${h}`)]);

  function mountsOf(container) {
    const options = [];
    for (const mount of container.volumeMounts || []) {
      const volume = (spec.volumes || []).find((v) => v.name === mount.name);
      if (!volume) fail(`${container.name} mounts ${mount.name}, which is no volume of the pod`);
      const directory = path.join(work, name, volume.name);
      const mode = mount.readOnly ? ':ro' : '';
      if (volume.emptyDir && volume.emptyDir.medium === 'Memory') {
        options.push(`--tmpfs=${mount.mountPath}:rw,nosuid,nodev,mode=0777`);
        continue;
      }
      if (volume.persistentVolumeClaim) {
        options.push(`--volume=${volume.persistentVolumeClaim.claimName}:${mount.mountPath}${mode}`);
        continue;
      }
      if (volume.emptyDir) {
        fs.mkdirSync(directory, {recursive: true});
        fs.chmodSync(directory, 0o777);
      } else if (volume.configMap) {
        const data = configMaps.get(volume.configMap.name);
        if (!data) fail(`the ConfigMap ${volume.configMap.name} is not in the manifest`);
        fillDirectory(directory, Object.entries(data), volume.configMap.defaultMode ?? 0o644,
                      fsGroup);
      } else if (volume.secret) {
        const files = secrets[volume.secret.secretName];
        if (!files) fail(`the Secret ${volume.secret.secretName} is none this test makes`);
        fillDirectory(directory, Object.entries(files), volume.secret.defaultMode ?? 0o644, fsGroup);
      } else {
        fail(`volume ${volume.name}: ${JSON.stringify(volume)} is none this test can make`);
      }
      options.push(`--volume=${directory}:${mount.mountPath}${mode}`);
    }
    return options;
  }

  // Starts `container` in the pod; `extraArgs` after the manifest's args.
  pod.run = (container, {environment = {}, extraArgs = [], suffix = ''} = {}) => {
    const containerName = `${name}-${container.name}${suffix}`;
    const security = {...spec.securityContext, ...container.securityContext};
    if (security.runAsNonRoot && !security.runAsUser) fail(`${containerName} may run as root`);
    // A kubelet's read-only root has no tmpfs of podman's on /tmp, /run and /var/tmp.
    const options = ['--detach', `--name=${containerName}`, `--pod=${name}`, '--pull=never',
                     '--read-only-tmpfs=false'];
    if (security.runAsUser !== undefined) {
      options.push(`--user=${security.runAsUser}:${security.runAsGroup ?? security.runAsUser}`);
    }
    if (fsGroup !== undefined) options.push(`--group-add=${fsGroup}`);
    if (security.readOnlyRootFilesystem) options.push('--read-only');
    if (security.allowPrivilegeEscalation === false) {
      options.push('--security-opt=no-new-privileges');
    }
    for (const capability of security.capabilities?.drop || []) {
      options.push(`--cap-drop=${capability}`);
    }
    if (container.workingDir) options.push(`--workdir=${container.workingDir}`);
    const env = {...manifests.environmentOf(container, configMaps), ...environment};
    for (const [key, value] of Object.entries(env)) options.push(`--env=${key}=${value}`);
    options.push(...mountsOf(container));
    // A container's command replaces the image's entry point, its args the CMD.
    if (container.command) options.push(`--entrypoint=${JSON.stringify(container.command)}`);
    podman(['run', ...options, container.image, ...(container.args || []), ...extraArgs]);
    running.push(containerName);
    pod.containers.push(containerName);
    return containerName;
  };
  return pod;
}

// --- The shared overlay's server -----------------------------------------------
async function shared() {
  const objects = manifests.load(sharedFile);
  const configMaps = manifests.configMapsOf(objects);
  const deployment = objects.find((o) => o.kind === 'Deployment');
  if (!deployment) fail(`${sharedFile} has no Deployment`);
  const spec = deployment.spec.template.spec;
  const server = spec.containers.find((c) => c.name === 'lrsched-server');
  if (!server) fail('the Deployment has no container lrsched-server');
  const grace = spec.terminationGracePeriodSeconds ?? 30;
  const grpcPort = (server.ports || []).find((p) => p.name === 'grpc').containerPort;
  const claims = (spec.volumes || []).filter((v) => v.persistentVolumeClaim);
  for (const claim of claims) podman(['volume', 'create', claim.persistentVolumeClaim.claimName]);

  const token = crypto.randomBytes(24).toString('hex');
  const tokenFile = path.join(work, 'operator.token');
  fs.writeFileSync(tokenFile, token, {mode: 0o600});
  const sha256 = crypto.createHash('sha256').update(token).digest('hex');
  const read = (file) => fs.readFileSync(path.join(certDir, file));
  const secrets = {
    'lrsched-tls': {'tls.crt': read('tls.crt'), 'tls.key': read('tls.key'),
                    'ca.crt': read('ca.pem')},
    'lrsched-callers': {'callers.yaml': 'callers:\n  - name: image-test\n    role: operator\n' +
                                        `    token_sha256: ${sha256}\n`},
  };
  const tls = ['--tls_ca_file', '--tls_server_name=lrsched.lrsched.svc', '--timeout=10s'];
  const outside = (pod, ...args) => childProcess.spawnSync(lrschedctl, [
    `--server=${pod.address}:${grpcPort}`, `${tls[0]}=${path.join(certDir, 'ca.pem')}`,
    ...tls.slice(1), `--token_file=${tokenFile}`, ...args], {encoding: 'utf8'});
  // Inside, the CA from the Secret's volume and the token on stdin: the
  // container has neither elsewhere, and its root is read-only.
  const tlsVolume = spec.volumes.find((v) => v.secret?.secretName === 'lrsched-tls');
  if (!tlsVolume) fail('the Deployment mounts no Secret lrsched-tls');
  const caInside = server.volumeMounts.find((m) => m.name === tlsVolume.name).mountPath +
                   '/ca.crt';
  const inside = (name, ...args) => podman([
    'exec', '--interactive', name, 'lrschedctl', `--server=localhost:${grpcPort}`,
    `${tls[0]}=${caInside}`, ...tls.slice(1), '--token_file=/dev/stdin', ...args],
  {check: false, input: token});
  const spec1 = '{"step_lr": {"step_size": 2, "gamma": 0.5}}';

  let pod = makePod({name: 'lrsched-server', spec, configMaps, secrets, host: 20});
  let name = pod.run(server);
  await startupProbe(name, server, pod.address);
  const created = outside(pod, 'create', 'image-outside', `--spec=${spec1}`, '--base_lrs=0.1');
  if (created.status !== 0) failWithLogs(`lrschedctl create (outside): ${created.stderr}`);
  const insideCreated = inside(name, 'create', 'image-inside', `--spec=${spec1}`,
                               '--base_lrs=0.1');
  if (insideCreated.status !== 0) {
    failWithLogs(`lrschedctl create (inside the container): ${insideCreated.stdout}` +
                 insideCreated.stderr);
  }
  const listed = inside(name, 'list');
  if (listed.status !== 0 || !/image-outside/.test(listed.stdout)) {
    failWithLogs(`lrschedctl list inside does not show the job made outside: ${listed.stdout}` +
                 listed.stderr);
  }
  console.log('lrschedctl over TLS with a token, outside the container and inside it: ' +
              'each sees the job the other made');
  // podman makes the volumes' mount points (and their parents) in the root.
  const mountPaths = server.volumeMounts.map((m) => m.mountPath);
  const changed = podman(['diff', name]).stdout.trim().split('\n').filter(Boolean)
    .filter((line) => !mountPaths.some((m) => `${m}/`.startsWith(`${line.slice(2)}/`)));
  if (changed.length) failWithLogs(`${name} changed its root file system:\n${changed.join('\n')}`);
  stop(name, grace);
  for (const claim of claims) {
    const mountpoint = podman(['volume', 'inspect', '--format', '{{.Mountpoint}}',
                               claim.persistentVolumeClaim.claimName]).stdout.trim();
    const files = fs.readdirSync(mountpoint);
    const state = manifests.environmentOf(server, configMaps).LRSCHED_STATE;
    const stray = files.filter((f) => !f.startsWith(state));
    if (!files.includes(state) || stray.length) {
      fail(`the claim ${claim.persistentVolumeClaim.claimName} holds ${files}, not ${state} alone`);
    }
    console.log(`the claim ${claim.persistentVolumeClaim.claimName}: ${files.join(', ')}`);
  }

  // The Deployment's next pod (Recreate: after the old one ended), same claim.
  podman(['pod', 'rm', '--force', pod.name]);
  running.length = 0;
  pod = makePod({name: 'lrsched-server', spec, configMaps, secrets, host: 21});
  name = pod.run(server, {suffix: '-2'});
  await startupProbe(name, server, pod.address);
  for (const job of ['image-outside', 'image-inside']) {
    const got = outside(pod, 'get', job);
    if (got.status !== 0) failWithLogs(`after the restart, lrschedctl get ${job}: ${got.stderr}`);
  }
  console.log('a new pod on the same claim serves both jobs');
  stop(name, grace);
  podman(['pod', 'rm', '--force', pod.name]);
  running.length = 0;
}

// --- The sidecar overlay's Job ---------------------------------------------------
async function sidecarJob() {
  const objects = manifests.load(sidecarFile);
  const configMaps = manifests.configMapsOf(objects);
  const {job, pod: spec, sidecar, trainer, grace} = manifests.sidecarJob(objects, sidecarFile);
  const count = job.spec.completions;
  const secretVolume = (spec.volumes || []).find((v) => v.secret);
  const keyDir = path.join(work, 'ssh-key');
  fs.mkdirSync(keyDir);
  childProcess.execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C',
                                            job.metadata.name, '-f', `${keyDir}/id_ed25519`]);
  const secrets = {[secretVolume.secret.secretName]: Object.fromEntries(
    fs.readdirSync(keyDir).map((f) => [f, fs.readFileSync(path.join(keyDir, f))]))};

  const names = [...Array(count).keys()].map((i) => `${job.metadata.name}-${i}`);
  const hosts = names.map((n, i) => `${n}.${spec.subdomain}:${address(30 + i)}`);
  const pods = names.map((name, i) => makePod({name, spec, configMaps, secrets, host: 30 + i,
                                                hosts}));
  const started = Date.now();
  const sidecars = pods.map((pod, i) => pod.run(sidecar,
                                                {environment: {JOB_COMPLETION_INDEX: String(i)}}));
  const trainers = [];
  for (const [i, pod] of pods.entries()) {
    await startupProbe(sidecars[i], sidecar, pod.address);
    trainers.push(pod.run(trainer, {environment: {JOB_COMPLETION_INDEX: String(i)},
                                    extraArgs: ['--trace_out=/tmp/lrsched-trace']}));
  }

  // Pod 0's trainer launches every rank with mpirun; its success ends the Job.
  const budget = 300;
  const code = waitExit(trainers[0], budget);
  if (code === null) failWithLogs(`${trainers[0]} still runs after ${budget}s`);
  if (code !== 0) failWithLogs(`${trainers[0]} exited with ${code}`);
  const logs = podman(['logs', trainers[0]]);
  console.log(`${trainers[0]}: exit 0 ${((Date.now() - started) / 1000).toFixed(0)}s after ` +
              `the pods started; its last lines:\n` +
              (logs.stdout + logs.stderr).trim().split('\n').slice(-2).join('\n'));

  // The rates every rank trained with, from each pod's /tmp (an emptyDir).
  const tmp = (trainer.volumeMounts || []).find((m) => m.mountPath === '/tmp');
  if (!tmp) fail('the trainer has no volume at /tmp, where its traces go');
  const traces = [];
  for (const pod of pods) {
    const directory = path.join(work, pod.name, tmp.name);
    for (const file of fs.readdirSync(directory).filter((f) => /^lrsched-trace\.rank\d+\.csv$/.test(f))) {
      traces.push([file, fs.readFileSync(path.join(directory, file), 'utf8')]);
    }
  }
  const environment = manifests.environmentOf(trainer, configMaps);
  const ranks = count * Number(environment.LRSCHED_SLOTS || 1);
  if (traces.length !== ranks) fail(`${traces.length} ranks wrote their rates, not ${ranks}`);
  const flags = [...configMaps.values()].flatMap((d) => Object.values(d)).join('\n');
  const epochs = Number(/--epochs=(\d+)/.exec(flags)?.[1]);
  const lines = traces[0][1].trim().split('\n');
  if (epochs && lines.length !== epochs) fail(`${traces[0][0]}: ${lines.length} epochs, not ${epochs}`);
  for (const [file, text] of traces) {
    if (text !== traces[0][1]) fail(`${file} differs from ${traces[0][0]}:\n${text}`);
  }
  const rates = new Set(lines.map((l) => l.split(',')[1]));
  console.log(`${ranks} ranks in ${count} pods: the same rates in all ${lines.length} epochs ` +
              `(${rates.size} distinct rates)`);

  // The success policy ends the other pods: their trainers, then the sidecars.
  for (const name of [...trainers.slice(1), ...sidecars]) stop(name, grace);
  for (const pod of pods) podman(['pod', 'rm', '--force', pod.name]);
}

(async () => {
  await shared();
  await sidecarJob();
})().catch((error) => fail(error.stack));
