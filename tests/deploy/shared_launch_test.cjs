#!/usr/bin/env node
// Runs the shared overlay's server and the example trainer Job on this
// machine as their manifests say: the server with the Deployment's
// environment (its ConfigMap and env), in a fresh directory for its state
// volume, on 127.0.0.1 (the pod's address: 0.0.0.0 becomes it) with the
// manifest's ports; the trainer with its Job's command, arguments and
// environment. Every Secret volume is a directory made here with what
// deploy/README.md (Security) puts in it: lrsched-tls a certificate for the
// Service's names (CERT_DIR/tls.crt, tls.key) from the CA CERT_DIR/ca.pem,
// lrsched-callers a callers file of a worker token (prefix team-a-) and an
// operator token made at random, lrsched-client the CA and the worker token.
// The cluster's DNS: the Service's name lrsched.lrsched.svc is 127.0.0.1, so
// the trainer dials that address and verifies the certificate for the name
// its manifest dials (LRSCHED_TLS_SERVER_NAME, which a pod does not need).
//
// Checks: the server passes its startup probe as the kubelet probes it
// (plaintext gRPC health, on the probe's port; a probe of a port where the
// server serves TLS fails the test); its gRPC port refuses plaintext; a
// call over TLS without a token is refused UNAUTHENTICATED; the trainer runs
// its job to the end over TLS with its token; the operator sees the job; the
// server exits 0 on SIGTERM within the grace period, having written only its
// state file.
//
// Usage: shared_launch_test.cjs RENDERED_SHARED.yaml RENDERED_TRAINER.yaml BIN_DIR TOOLS_DIR
//          PROTO_DIR CERT_DIR LRSCHEDCTL TRAINER
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const childProcess = require('child_process');

const [manifestFile, trainerFile, binDir, toolsDir, protoDir, certDir, lrschedctl, trainerBin] =
    process.argv.slice(2);
if (!trainerBin) {
  console.error('usage: shared_launch_test.cjs RENDERED_SHARED.yaml RENDERED_TRAINER.yaml ' +
                'BIN_DIR TOOLS_DIR PROTO_DIR CERT_DIR LRSCHEDCTL TRAINER');
  process.exit(2);
}
const modules = path.resolve(toolsDir, 'node_modules');
const buf = path.join(modules, '.bin', 'buf');
const HEALTH_PROTO = '/usr/share/grpc-proto/grpc/health/v1/health.proto';
const POD_ADDRESS = '127.0.0.1';

const {fail, start, tail, portIsFree, sleep} = require('./launch_common.cjs')('shared_launch_test');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lrsched-shared-launch-'));
process.on('exit', () => fs.rmSync(work, {recursive: true, force: true}));

// --- What the manifests say ---------------------------------------------------
const manifests = require('./manifest.cjs')(toolsDir, fail);
const load = manifests.load;
const objects = load(manifestFile);
const configMaps = manifests.configMapsOf(objects);
const deployment = objects.find((o) => o.kind === 'Deployment' &&
  o.spec.template.spec.containers.some((c) => c.name === 'lrsched-server'));
if (!deployment) fail(`${manifestFile} has no Deployment running lrsched-server`);
const serverPod = deployment.spec.template.spec;
const server = serverPod.containers.find((c) => c.name === 'lrsched-server');
const job = load(trainerFile).find((o) => o.kind === 'Job');
if (!job) fail(`${trainerFile} has no Job`);
const trainerPod = job.spec.template.spec;
const trainer = trainerPod.containers[0];

// The tokens, made here; the callers file knows their SHA-256.
const tokens = {worker: crypto.randomBytes(24).toString('hex'),
                operator: crypto.randomBytes(24).toString('hex')};
const sha256 = (text) => crypto.createHash('sha256').update(text).digest('hex');
const callers = 'callers:\n' +
  `  - name: team-a\n    role: worker\n    job_prefix: team-a-\n    token_sha256: ${sha256(tokens.worker)}\n` +
  `  - name: ops\n    role: operator\n    token_sha256: ${sha256(tokens.operator)}\n`;
const operatorToken = path.join(work, 'ops.token');
fs.writeFileSync(operatorToken, tokens.operator, {mode: 0o600});
// What each Secret holds, by its name (deploy/README.md, Security).
const secrets = {
  'lrsched-tls': {'tls.crt': () => fs.readFileSync(path.join(certDir, 'tls.crt')),
                  'tls.key': () => fs.readFileSync(path.join(certDir, 'tls.key')),
                  'ca.crt': () => fs.readFileSync(path.join(certDir, 'ca.pem'))},
  'lrsched-callers': {'callers.yaml': () => callers},
  'lrsched-client': {'ca.crt': () => fs.readFileSync(path.join(certDir, 'ca.pem')),
                     'token': () => tokens.worker},
};
// [mountPath, directory] for each Secret volume the container mounts.
function secretMounts(container, pod) {
  const mounts = [];
  for (const mount of container.volumeMounts || []) {
    const volume = (pod.volumes || []).find((v) => v.name === mount.name);
    if (!volume || !volume.secret) continue;
    const name = volume.secret.secretName;
    if (!secrets[name]) fail(`the Secret ${name} is none deploy/README.md makes`);
    const directory = path.join(work, 'secrets', name);
    if (!fs.existsSync(directory)) {
      fs.mkdirSync(directory, {recursive: true});
      for (const [key, content] of Object.entries(secrets[name])) {
        fs.writeFileSync(path.join(directory, key), content(), {mode: 0o440});
      }
    }
    mounts.push([mount.mountPath.replace(/\/$/, ''), directory]);
  }
  return mounts;
}
// A container's environment (ConfigMaps, then env values), with 0.0.0.0 the
// pod's address and the Secret volumes' paths their directories here.
function environmentOf(container, pod) {
  const environment = manifests.environmentOf(container, configMaps);
  const mounts = secretMounts(container, pod);
  for (const name of Object.keys(environment)) {
    let value = environment[name].replace(/\b0\.0\.0\.0\b/g, POD_ADDRESS);
    for (const [mountPath, directory] of mounts) {
      if (value.startsWith(`${mountPath}/`)) value = directory + value.slice(mountPath.length);
    }
    environment[name] = value;
  }
  return environment;
}
function portNamed(container, name) {
  const port = (container.ports || []).find((p) => p.name === name);
  if (!port) fail(`container ${container.name} has no port named ${name}`);
  return port.containerPort;
}

// A plaintext gRPC call with buf curl, as the kubelet's probe makes it.
function plaintextCall(port, method, body) {
  const schema = method.startsWith('grpc.health.') ? HEALTH_PROTO : protoDir;
  const result = childProcess.spawnSync(buf, [
    'curl', '--schema', schema, '--protocol', 'grpc', '--http2-prior-knowledge',
    '--connect-timeout', '2', '--timeout', '5s', '--data', JSON.stringify(body),
    `http://${POD_ADDRESS}:${port}/${method}`], {encoding: 'utf8'});
  return {ok: result.status === 0, out: result.stdout + result.stderr,
          json: result.status === 0 ? JSON.parse(result.stdout) : undefined};
}

(async () => {
  const environment = environmentOf(server, serverPod);
  console.log(`lrsched-server: env ${JSON.stringify(environment)}`);
  for (const port of (server.ports || []).map((p) => p.containerPort)) {
    if (!(await portIsFree(POD_ADDRESS, port))) fail(`port ${port} of ${POD_ADDRESS} is in use here`);
  }
  const grpcPort = portNamed(server, 'grpc');
  const stateVolume = path.join(work, 'state');
  fs.mkdirSync(stateVolume);
  const grace = serverPod.terminationGracePeriodSeconds ?? 30;
  const child = start('lrsched-server', server.command || ['lrsched-server'],
                      {cwd: stateVolume,
                       env: {PATH: `${path.resolve(binDir)}:/usr/bin:/bin`, ...environment}});

  // The kubelet's startup probe: plaintext gRPC health on the probe's port.
  const startup = server.startupProbe && server.startupProbe.grpc;
  if (!startup) fail('lrsched-server has no gRPC startup probe');
  const threshold = server.startupProbe.failureThreshold || 3;
  for (let attempt = 1; ; attempt++) {
    const health = plaintextCall(startup.port, 'grpc.health.v1.Health/Check', {});
    if (health.ok && health.json.status === 'SERVING') {
      console.log(`lrsched-server: SERVING at probe ${attempt} (plaintext, port ${startup.port})`);
      break;
    }
    if (child.exitCode_ !== undefined || child.exitSignal_) {
      fail(`lrsched-server exited with ${child.exitCode_} before SERVING:\n${tail(child)}`);
    }
    // A probe of the port where the server serves TLS never passes.
    if (/"transport":"(mutual-)?tls"/.test(child.output) && startup.port === grpcPort) {
      fail(`the startup probe probes port ${startup.port}, where the server serves TLS: ` +
           `the kubelet's plaintext gRPC probe fails (${health.out.replace(/\s+/g, ' ').trim().slice(0, 200)})`);
    }
    if (attempt === threshold) fail(`not SERVING after ${threshold} probes:\n${tail(child)}`);
    await sleep(500);
  }
  for (let i = 0; !/"event":"server_started"/.test(child.output); i++) {
    if (i === 50) fail(`no server_started line 5 s after SERVING:\n${tail(child)}`);
    await sleep(100);
  }
  if (!/"transport":"tls"/.test(child.output)) fail(`the server does not serve TLS:\n${tail(child)}`);
  console.log('lrsched-server: transport tls');

  // The gRPC port speaks TLS only.
  const plaintext = plaintextCall(grpcPort, 'grpc.health.v1.Health/Check', {});
  if (plaintext.ok) fail(`the gRPC port ${grpcPort} answers plaintext: ${plaintext.out}`);
  console.log(`port ${grpcPort}: plaintext refused`);

  // Over TLS, verified for the Service's name: no token, refused.
  const serviceName = 'lrsched.lrsched.svc';
  const ctl = (...args) => childProcess.spawnSync(lrschedctl, [
    `--server=${POD_ADDRESS}:${grpcPort}`, `--tls_ca_file=${path.join(certDir, 'ca.pem')}`,
    `--tls_server_name=${serviceName}`, '--timeout=10s', ...args], {encoding: 'utf8'});
  const anonymous = ctl('list');
  if (anonymous.status === 0 || !/UNAUTHENTICATED/.test(anonymous.stderr + anonymous.stdout)) {
    fail(`lrschedctl list over TLS without a token was not refused UNAUTHENTICATED ` +
         `(exit ${anonymous.status}): ${anonymous.stdout}${anonymous.stderr}`);
  }
  console.log('lrschedctl over TLS without a token: UNAUTHENTICATED');

  // The example trainer Job's container, as its pod runs it.
  const trainerEnvironment = environmentOf(trainer, trainerPod);
  const args = (trainer.args || []).map((arg) => {
    const dialed = /^--server=([^:]+):(\d+)$/.exec(arg);
    if (!dialed) return arg;
    if (dialed[1] !== serviceName || Number(dialed[2]) !== grpcPort) {
      fail(`the trainer dials ${dialed[1]}:${dialed[2]}, not the Service ${serviceName}:${grpcPort}`);
    }
    return `--server=${POD_ADDRESS}:${grpcPort}`;
  });
  const tmp = path.join(work, 'trainer-tmp');
  fs.mkdirSync(tmp);
  trainerEnvironment.TMPDIR = tmp;
  const command = [...(trainer.command || [])];
  if (path.basename(command[0]) !== 'lrsched-trainer') fail(`the trainer runs ${command[0]}`);
  command[0] = path.resolve(trainerBin);
  console.log(`trainer: ${[...command, ...args].join(' ')}`);
  const trained = start('trainer', [...command, ...args], {
    cwd: tmp, env: {PATH: '/usr/bin:/bin', LRSCHED_TLS_SERVER_NAME: serviceName,
                    // Under the sanitizers: what the test runs with (MPI and
                    // gRPC leave memory to the exit, as the benches note).
                    ...(process.env.TRAINER_ASAN_OPTIONS
                          ? {ASAN_OPTIONS: process.env.TRAINER_ASAN_OPTIONS} : {}),
                    ...trainerEnvironment}});
  const timer = setTimeout(() => fail(`the trainer did not finish in 120 s:\n${tail(trained)}`),
                           120000);
  const done = await trained.exited;
  clearTimeout(timer);
  if (done.code !== 0) fail(`the trainer exited with ${done.code}:\n${tail(trained)}`);
  const jobId = (/^--job=(.*)$/.exec(args.find((a) => a.startsWith('--job=')) || '') || [])[1];
  console.log(`trainer: ${trained.output.trim().split('\n').pop()}`);

  // The operator sees the job the worker made.
  const seen = ctl(`--token_file=${operatorToken}`, 'get', jobId);
  if (seen.status !== 0) fail(`lrschedctl get ${jobId} as the operator: ${seen.stdout}${seen.stderr}`);
  console.log(`lrschedctl get ${jobId} over TLS with the operator's token: found`);

  // The web page's port (kubectl port-forward): the page, and the JSON API
  // with the callers of the gRPC port.
  const httpPort = portNamed(server, 'http');
  const page = await fetch(`http://${POD_ADDRESS}:${httpPort}/`);
  if (page.status !== 200 || !/lrsched/.test(await page.text())) {
    fail(`GET / on the http port answered ${page.status}`);
  }
  const getJob = (headers) => fetch(`http://${POD_ADDRESS}:${httpPort}/api/v1/GetJob`, {
    method: 'POST', headers: {'Content-Type': 'application/json', ...headers},
    body: JSON.stringify({job_id: jobId})});
  const refused = await getJob({});
  if (refused.status !== 401) fail(`GetJob on the http port without a token: ${refused.status}`);
  const token = fs.readFileSync(operatorToken, 'utf8').trim();
  const answered = await getJob({Authorization: `Bearer ${token}`});
  if (answered.status !== 200 || (await answered.json()).job_id !== jobId) {
    fail(`GetJob on the http port with the operator's token: ${answered.status}`);
  }
  console.log(`http port ${httpPort}: the page, and GetJob only with a token`);

  // SIGTERM, as the kubelet stops the pod.
  const sent = Date.now();
  child.kill('SIGTERM');
  const killer = setTimeout(() => fail(`still running ${grace}s after SIGTERM:\n${tail(child)}`),
                            grace * 1000);
  const exit = await child.exited;
  clearTimeout(killer);
  if (exit.code !== 0) fail(`exited with ${exit.code} (${exit.signal}):\n${tail(child)}`);
  console.log(`lrsched-server: exit 0 ${((exit.at - sent) / 1000).toFixed(2)}s after SIGTERM ` +
              `(grace ${grace}s)`);
  const stateFile = environment.LRSCHED_STATE;
  const written = fs.readdirSync(stateVolume).sort();
  if (!written.includes(stateFile) || written.some((f) => !f.startsWith(stateFile))) {
    fail(`the state volume holds ${written}, not ${stateFile} alone`);
  }
  console.log(`state volume: ${written.join(', ')}`);
})().catch((error) => fail(error.stack));
