#!/usr/bin/env node
// Runs the sidecar exactly as the rendered Job manifest starts it: its command
// and arguments, its environment (values and the ConfigMap it names), in its
// working directory (a fresh directory stands for the state volume), plus what
// Kubernetes adds (JOB_COMPLETION_INDEX, HOSTNAME). Probes it as the kubelet
// does, on the probe's port with service "" and the startup probe's period and
// threshold, until SERVING; checks that a second pod's sidecar relays to it
// and exits 0 on SIGTERM; parks a Step, sends SIGTERM, and checks that the
// server drains (the Step ends UNAVAILABLE, the state file is kept) and exits
// 0 within the pod's grace period, having written nothing outside its state
// volume.
//
// Usage: sidecar_launch_test.cjs RENDERED_SIDECAR.yaml BIN_DIR SCRIPT_DIR TOOLS_DIR
//   BIN_DIR holds lrsched-server, SCRIPT_DIR lrsched-sidecar (the image's
//   /usr/local/bin); TOOLS_DIR the npm tools (yaml, buf).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const net = require('net');
const http = require('http');
const childProcess = require('child_process');

const [manifestFile, binDir, scriptDir, toolsDir] = process.argv.slice(2);
const modules = path.resolve(toolsDir, 'node_modules');
const buf = path.join(modules, '.bin', 'buf');

function fail(message) {
  console.error(`sidecar_launch_test: ${message}`);
  process.exit(1);
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// --- What the manifest says -------------------------------------------------
const manifests = require('./manifest.cjs')(toolsDir, fail);
const objects = manifests.load(manifestFile);
const {job, sidecar, grace} = manifests.sidecarJob(objects, manifestFile);
const environment = manifests.environmentOf(sidecar, manifests.configMapsOf(objects));
const command = manifests.commandOf(sidecar);
const probePort = sidecar.startupProbe.grpc.port;
const period = sidecar.startupProbe.periodSeconds || 10;
const threshold = sidecar.startupProbe.failureThreshold || 3;
const drain = /^(\d+)s$/.exec(environment.LRSCHED_DRAIN_TIMEOUT || '');
if (!drain) fail(`LRSCHED_DRAIN_TIMEOUT=${environment.LRSCHED_DRAIN_TIMEOUT} is not in seconds`);
if (!(Number(drain[1]) < grace)) {
  fail(`the server drains for up to ${drain[1]}s, which is not shorter than the pod's ` +
       `terminationGracePeriodSeconds (${grace}): the kubelet would kill it mid-drain`);
}
console.log(`sidecar: ${command.join(' ')} in ${sidecar.workingDir}, ` +
            `env ${JSON.stringify(environment)}, probe port ${probePort}, grace ${grace}s`);

// --- Helpers -----------------------------------------------------------------
const basePath = `${path.resolve(binDir)}:${path.resolve(scriptDir)}:/usr/bin:/bin`;

function start(index, extraEnvironment, workingDir) {
  const env = {PATH: basePath, HOSTNAME: `${job.metadata.name}-${index}`,
               JOB_COMPLETION_INDEX: String(index), ...environment, ...extraEnvironment};
  const child = childProcess.spawn(command[0], command.slice(1),
                                   {cwd: workingDir, env, stdio: ['ignore', 'pipe', 'pipe']});
  child.output = '';
  child.stdout.on('data', (d) => { child.output += d; });
  child.stderr.on('data', (d) => { child.output += d; });
  child.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    child.exitCode_ = code;
    resolve({code, signal, at: Date.now()});
  }));
  return child;
}

function call(port, method, body, timeoutSeconds = 5) {
  const result = childProcess.spawnSync(buf, [
    'curl', '--protocol', 'grpc', '--http2-prior-knowledge', '--connect-timeout', '2',
    '--timeout', `${timeoutSeconds}s`, '--data', JSON.stringify(body),
    `http://127.0.0.1:${port}/${method}`], {encoding: 'utf8'});
  return {ok: result.status === 0, out: result.stdout + result.stderr,
          json: result.status === 0 ? JSON.parse(result.stdout) : undefined};
}

async function probeUntilServing(port, child, what) {
  for (let attempt = 1; attempt <= threshold; attempt++) {
    const health = call(port, 'grpc.health.v1.Health/Check', {});
    if (health.ok && health.json.status === 'SERVING') {
      console.log(`${what}: SERVING at probe ${attempt}`);
      return;
    }
    if (child.exitCode_ !== undefined) {
      fail(`${what} exited with ${child.exitCode_} before SERVING:\n${child.output}`);
    }
    await sleep(period * 1000);
  }
  fail(`${what} not SERVING after ${threshold} probes ${period}s apart:\n${child.output}`);
}

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const {port} = server.address();
      server.close(() => resolve(port));
    });
  });
}

// --- The run -------------------------------------------------------------------
function portIsFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer().once('error', () => resolve(false))
                                     .listen(port, () => server.close(() => resolve(true)));
  });
}

(async () => {
  // Another server on the manifest's port would answer the probes instead.
  if (!(await portIsFree(probePort))) fail(`port ${probePort}, the manifest's, is in use here`);
  const metricsPort = Number((environment.LRSCHED_METRICS_LISTEN || '').split(':').pop());
  if (metricsPort && !(await portIsFree(metricsPort))) {
    fail(`port ${metricsPort}, the manifest's metrics port, is in use here`);
  }
  const stateVolume = fs.mkdtempSync(path.join(os.tmpdir(), 'lrsched-state-volume-'));
  const server = start(0, {}, stateVolume);
  process.on('exit', () => server.kill('SIGKILL'));
  await probeUntilServing(probePort, server, 'pod 0 (lrsched-server)');
  if (metricsPort) {
    const body = await new Promise((resolve, reject) => {
      http.get(`http://127.0.0.1:${metricsPort}/metrics`, (response) => {
        let text = '';
        response.on('data', (d) => { text += d; });
        response.on('end', () => resolve(text));
      }).on('error', reject);
    }).catch((error) => fail(`the metrics port does not answer: ${error.message}`));
    if (!/^lrsched_recovery_seconds /m.test(body)) fail('no lrsched metrics on the metrics port');
    console.log(`pod 0: Prometheus metrics on port ${metricsPort}`);
  }

  // Pod 1's sidecar on this same machine: its own port, pod 0 by loopback.
  const relayPort = await freePort();
  const relay = start(1, {LRSCHED_LISTEN: `127.0.0.1:${relayPort}`,
                         LRSCHED_AUTHORITY: `127.0.0.1:${probePort}`}, stateVolume);
  process.on('exit', () => relay.kill('SIGKILL'));
  await probeUntilServing(relayPort, relay, 'pod 1 (relay to pod 0)');
  const created = call(relayPort, 'lrsched.v1.SchedulerService/CreateJob', {
    jobId: 'launch', baseLrs: [0.1], worldSize: 2,
    spec: {reduceLrOnPlateau: {patience: 1}}});
  if (!created.ok) fail(`CreateJob through the relay: ${created.out}`);
  const seen = call(probePort, 'lrsched.v1.SchedulerService/GetJob', {jobId: 'launch'});
  if (!seen.ok || seen.json.jobId !== 'launch') {
    fail(`a job created through pod 1's relay is not in pod 0's server: ${seen.out}`);
  }
  console.log('pod 1: a job created through its relay is in pod 0\'s server');
  // A sidecar that dies of the signal is a failed container to anyone watching.
  relay.kill('SIGTERM');
  const relayExit = await relay.exited;
  if (relayExit.code !== 0) {
    fail(`pod 1's relay exited with ${relayExit.code} (${relayExit.signal}) on SIGTERM, not 0`);
  }
  console.log('pod 1: the relay exits 0 on SIGTERM');

  // A worker waits on step 1, which needs both workers' metrics.
  const step = childProcess.spawn(buf, [
    'curl', '--protocol', 'grpc', '--http2-prior-knowledge', '--timeout', `${grace}s`,
    '--data', JSON.stringify({jobId: 'launch', step: 1}),
    `http://127.0.0.1:${probePort}/lrsched.v1.SchedulerService/Step`], {stdio: 'pipe'});
  let stepOutput = '';
  step.stdout.on('data', (d) => { stepOutput += d; });
  step.stderr.on('data', (d) => { stepOutput += d; });
  const stepDone = new Promise((resolve) => step.on('exit', resolve));
  for (let i = 0; ; i++) {
    const job = call(probePort, 'lrsched.v1.SchedulerService/GetJob', {jobId: 'launch'});
    if (job.ok && job.json.waitingSteps === 1) break;
    if (i === 100) fail(`the Step never parked: ${job.out}`);
    await sleep(50);
  }

  const sigterm = Date.now();
  server.kill('SIGTERM');
  const timer = setTimeout(() => fail(`still running ${grace}s after SIGTERM; the kubelet ` +
                                      `would kill it now:\n${server.output}`), grace * 1000);
  const exit = await server.exited;
  clearTimeout(timer);
  const stepCode = await stepDone;
  const seconds = (exit.at - sigterm) / 1000;
  if (exit.code !== 0) fail(`exited with ${exit.code} (${exit.signal}):\n${server.output}`);
  console.log(`pod 0: exit 0 ${seconds.toFixed(2)}s after SIGTERM (grace ${grace}s)`);
  if (stepCode === 0 || !/unavailable/i.test(stepOutput)) {
    fail(`the parked Step did not end UNAVAILABLE at shutdown: ${stepOutput}`);
  }
  console.log('the parked Step ended UNAVAILABLE, for its client to retry');

  const written = fs.readdirSync(stateVolume).sort();
  const stateFile = environment.LRSCHED_STATE;
  if (!written.includes(stateFile)) fail(`no ${stateFile} in the state volume: ${written}`);
  const stray = written.filter((f) => !f.startsWith(stateFile));
  if (stray.length) fail(`the server wrote other files in its volume: ${stray}`);
  console.log(`state volume: ${written.join(', ')}`);
  fs.rmSync(stateVolume, {recursive: true, force: true});
})().catch((error) => fail(error.stack));
