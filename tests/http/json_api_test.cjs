#!/usr/bin/env node
// The JSON API of --http_listen against a real server on loopback, as any
// HTTP client calls it: every RPC in the proto3 JSON mapping (proto field
// names), errors as an HTTP status with {code, message} keeping the server's
// message, a refused call that changes nothing, the HTTP side's own limits,
// and WatchJob as Server-Sent Events delivering events live and resuming
// with Last-Event-ID.
//
// With mutual TLS on the gRPC port, the page's calls reach the service in
// the process, or a replica's own port over TLS: known by their token only,
// never by the server's own certificate.
//
// Usage: json_api_test.cjs SERVER_BINARY MAKE_CERTS
'use strict';
const childProcess = require('child_process');
const http2 = require('http2');
const net = require('net');
const fs = require('fs');
const os = require('os');
const path = require('path');
const {startServer, call, ok, watch, check} = require('./http_server.cjs');

const [binary, makeCerts] = process.argv.slice(2);

async function everyRpc(base) {
  const plateau = {reduce_lr_on_plateau: {patience: '0', factor: 0.5}};
  const job = await ok(base, 'CreateJob',
                       {job_id: 'p', spec: plateau, base_lrs: [0.1, 0.01], world_size: 2});
  check(job.job_id === 'p' && job.world_size === 2 && job.base_lrs[1] === 0.01,
        `CreateJob answered ${JSON.stringify(job)}`);
  check('handed_out_step' in job && job.spec.reduce_lr_on_plateau.patience === '0',
        'the answer is not in the proto field names with int64 as strings');
  const again = await ok(base, 'CreateJob',
                         {job_id: 'p', spec: plateau, base_lrs: [0.1, 0.01], world_size: 2});
  check(again.job_id === 'p', 'the same CreateJob again is not the job');

  const got = await ok(base, 'GetJob', {job_id: 'p'});
  check(got.job_id === 'p' && got.last_sequence === '1', `GetJob: ${JSON.stringify(got)}`);
  await ok(base, 'CreateJob', {job_id: 'q', spec: {step_lr: {step_size: '3'}}, base_lrs: [1]});
  const list = await ok(base, 'ListJobs', {page_size: 1});
  check(list.jobs.length === 1 && list.jobs[0].job_id === 'p' && list.next_page_token,
        `ListJobs page 1: ${JSON.stringify(list)}`);
  const rest = await ok(base, 'ListJobs', {page_token: list.next_page_token});
  check(rest.jobs.length === 1 && rest.jobs[0].job_id === 'q', 'ListJobs page 2');

  const step = await ok(base, 'Step', {job_id: 'p', rank: 0, step: '0', look_ahead: '5'});
  check(step.values.length === 1 && step.values[0].lrs[0] === 0.1,
        `Step 0 of a plateau job: ${JSON.stringify(step)}`);
  const first = await ok(base, 'ReportMetric', {job_id: 'p', rank: 0, step: '0', value: 1});
  check(first.aggregated === false, 'one report of two aggregated the step');
  const second = await ok(base, 'ReportMetric', {job_id: 'p', rank: 1, step: '0', value: 1});
  check(second.aggregated === true && second.decision.step === '0', 'two reports did not aggregate');
  // patience 0: the second equal metric is a bad epoch, so step 2 is reduced.
  await ok(base, 'Step', {job_id: 'p', rank: 0, step: '1'});
  await ok(base, 'ReportMetric', {job_id: 'p', rank: 0, step: '1', value: 1});
  const reduced = await ok(base, 'ReportMetric', {job_id: 'p', rank: 1, step: '1', value: 1});
  check(reduced.decision.reduced === true && reduced.decision.lrs[0] === 0.05,
        `no reduction: ${JSON.stringify(reduced)}`);

  const set = await ok(base, 'SetLearningRate', {job_id: 'p', step: '0', factor: 0.5});
  check(Number(set.override.effective_step) > 0 && set.override.factor === 0.5,
        `SetLearningRate: ${JSON.stringify(set)}`);
  const resized = await ok(base, 'SetWorldSize', {job_id: 'p', world_size: 1});
  check(resized.world_size === 1, 'SetWorldSize');

  const preview = await ok(base, 'PreviewSchedule',
                           {spec: {cosine_annealing_lr: {t_max: '10'}}, base_lrs: [1], steps: 10});
  check(preview.values.length === 11 && preview.values[10].lrs[0] === 0 &&
        preview.values[5].lrs[0] === 0.5 && preview.values[1].lrs[0] === 0.9755282581475768,
        `PreviewSchedule: ${JSON.stringify(preview.values.map((v) => v.lrs[0]))}`);

  check(Object.keys(await ok(base, 'DeleteJob', {job_id: 'q'})).length === 0, 'DeleteJob');
  check((await call(base, 'GetJob', {job_id: 'q'})).status === 404, 'a deleted job is found');
}

async function errors(base) {
  const expect = async (rpc, request, status, code, pattern, options) => {
    const answer = await call(base, rpc, request, options);
    check(answer.status === status && answer.body.code === code &&
          pattern.test(answer.body.message) && /application\/json/.test(answer.type),
          `${rpc} ${JSON.stringify(request).slice(0, 200)}: wanted ${status} ${code} ${pattern}, got ` +
          `${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  };
  await expect('CreateJob', {job_id: 'bad', spec: {step_lr: {step_size: '0'}}, base_lrs: [0.1]},
               400, 'INVALID_ARGUMENT', /step_size/);
  await expect('GetJob', {job_id: 'nope'}, 404, 'NOT_FOUND', /nope/);
  await expect('CreateJob', {job_id: 'p', spec: {step_lr: {step_size: '2'}}, base_lrs: [0.1]},
               409, 'ALREADY_EXISTS', /p/);
  await ok(base, 'CreateJob', {job_id: 'c', spec: {cosine_annealing_lr: {t_max: '10'}},
                               base_lrs: [0.1]});
  await expect('ReportMetric', {job_id: 'c', rank: 0, step: '0', value: 1}, 400,
               'FAILED_PRECONDITION', /metric/);
  await expect('Step', {job_id: 'c', rank: 0, step: '-1'}, 400, 'INVALID_ARGUMENT', /step/);
  await expect('PreviewSchedule', {spec: {step_lr: {step_size: '1'}}, base_lrs: [1],
                                   steps: '100000000'}, 400, 'INVALID_ARGUMENT', /steps/);
  // The HTTP side's own refusals, in the same form.
  await expect('GetJob', '{"job_id": ', 400, 'INVALID_ARGUMENT', /GetJobRequest in JSON/);
  await expect('GetJob', {job_id: 'p', colour: 'red'}, 400, 'INVALID_ARGUMENT', /colour/);
  await expect('GetJob', 'job_id=p', 415, 'INVALID_ARGUMENT', /application\/json/,
               {contentType: 'text/plain'});
  await expect('NoSuchCall', {}, 404, 'UNIMPLEMENTED', /NoSuchCall/);
  // A path that is not UTF-8 is named in the message; the body stays UTF-8.
  const notUtf8 = await fetch(`${base}/api/v1/No%FF%C3Call`, {method: 'POST'});
  const notUtf8Text = new TextDecoder('utf-8', {fatal: true})
      .decode(new Uint8Array(await notUtf8.arrayBuffer()));
  check(notUtf8.status === 404 && JSON.parse(notUtf8Text).message.includes('No\uFFFD\uFFFDCall'),
        `a path that is not UTF-8: ${notUtf8.status} ${notUtf8Text}`);
  await expect('CreateJob', {job_id: 'big', base_lrs: new Array(400000).fill(0.1)}, 413,
               'RESOURCE_EXHAUSTED', /at most 1048576/);
  const get = await fetch(`${base}/api/v1/GetJob`);
  check(get.status === 405, `GET of an RPC: ${get.status}`);
  check((await fetch(`${base}/nothing-here`)).status === 404, 'an unknown page is found');

  // A refused call changes nothing: the job's log and values stay.
  const before = await ok(base, 'GetJob', {job_id: 'p'});
  await expect('SetLearningRate', {job_id: 'p', step: '0', factor: -1}, 400,
               'INVALID_ARGUMENT', /factor/);
  await expect('CreateJob', {job_id: 'p', spec: {step_lr: {step_size: '2'}}, base_lrs: [0.1]},
               409, 'ALREADY_EXISTS', /./);
  await expect('ReportMetric', {job_id: 'p', rank: 5, step: '0', value: 1}, 400,
               'INVALID_ARGUMENT', /rank/);
  const after = await ok(base, 'GetJob', {job_id: 'p'});
  check(JSON.stringify(before) === JSON.stringify(after),
        'a refused call changed the job:\n' + JSON.stringify(before) + '\n' + JSON.stringify(after));
}

async function events(base) {
  await ok(base, 'CreateJob', {job_id: 'w', spec: {reduce_lr_on_plateau: {patience: '0'}},
                               base_lrs: [1], world_size: 1});
  const missing = await watch(base, 'nope');
  check(missing.status === 404 && missing.body.code === 'NOT_FOUND', 'watching no job');
  const stream = await watch(base, 'w');
  check(stream.status === 200 && /text\/event-stream/.test(stream.type), 'no event stream');
  const created = await stream.at(0);
  check(created && created.id === '1' && created.data.created &&
        created.data.created.base_lrs[0] === 1, `first event: ${JSON.stringify(created)}`);
  // Live: each change reaches the reader at once, not at the stream's end.
  let sent = Date.now();
  let slowestEvent = 0;
  await ok(base, 'Step', {job_id: 'w', rank: 0, step: '0'});
  for (let step = 0; step < 3; step++) {
    sent = Date.now();
    const seen = stream.events.length;
    await ok(base, 'ReportMetric', {job_id: 'w', rank: 0, step: String(step), value: 1});
    // Typically a few milliseconds; the bound only tells "at once" from
    // "buffered until the stream ends" on a loaded machine too.
    const event = await stream.at(seen, 5000);
    check(event, `no event within 5 s of step ${step}'s report`);
    slowestEvent = Math.max(slowestEvent, event.received - sent);
    await ok(base, 'Step', {job_id: 'w', rank: 0, step: String(step + 1)});
  }
  console.log(`slowest event after its report: ${slowestEvent} ms`);
  const aggregated = stream.events.filter((e) => e.data.step_aggregated);
  check(aggregated.some((e) => e.data.step_aggregated.metric.reduced), 'no reduction event');
  for (let i = 0; i < stream.events.length; i++) {
    check(stream.events[i].id === String(i + 1), `event ${i} has id ${stream.events[i].id}`);
  }
  // Resuming: Last-Event-ID wins over an earlier from_sequence.
  const last = stream.events.length;
  const resumed = await watch(base, 'w', {fromSequence: 1, lastEventId: last - 1});
  const next = await resumed.at(0);
  check(next && next.id === String(last), `resumed at ${next && next.id}, not ${last}`);
  const fromThree = await watch(base, 'w', {fromSequence: 3});
  check((await fromThree.at(0)).id === '3', 'from_sequence=3 did not start at 3');
  resumed.close();
  fromThree.close();
  // Deleting the job ends the stream with its deletion and `event: end`.
  await ok(base, 'DeleteJob', {job_id: 'w'});
  for (let waited = 0; !stream.ended && waited < 2000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  check(stream.ended, 'the stream did not end with the job');
  const tail = stream.events.slice(-2);
  check(tail[0].data.deleted && tail[1].event === 'end', `the stream ended with ${JSON.stringify(tail)}`);
}

async function streamLimit(binary) {
  const server = await startServer(binary, ['--http_max_event_streams=2']);
  await ok(server.base, 'CreateJob', {job_id: 's', spec: {step_lr: {step_size: '2'}}, base_lrs: [1]});
  const open = [await watch(server.base, 's'), await watch(server.base, 's')];
  const third = await watch(server.base, 's');
  check(third.status === 429 && third.body.code === 'RESOURCE_EXHAUSTED' &&
        /at most 2/.test(third.body.message), `a third stream: ${third.status}`);
  // A reader that left is noticed by the keep-alive comments (every 2 s).
  open[0].close();
  for (let waited = 0; waited < 8000; waited += 100) {
    const again = await watch(server.base, 's');
    if (again.status === 200) {
      again.close();
      open[1].close();
      server.process.kill('SIGKILL');
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  check(false, 'a closed stream did not free its place');
}

async function auth(binary) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lrsched-http-'));
  const tokens = {viewer: 'viewer-token-0123456789', operator: 'operator-token-0123456789',
                  worker: 'worker-token-0123456789'};
  fs.writeFileSync(path.join(dir, 'callers.yaml'), `callers:
  - {name: v, role: viewer, token: ${tokens.viewer}}
  - {name: o, role: operator, token: ${tokens.operator}}
  - {name: w, role: worker, job_prefix: team-a-, token: ${tokens.worker}}
`);
  const server = await startServer(binary, [`--auth_tokens_file=${path.join(dir, 'callers.yaml')}`]);
  const base = server.base;
  const create = {job_id: 'team-a-1', spec: {cosine_annealing_lr: {t_max: '10'}}, base_lrs: [0.1]};
  const missing = await call(base, 'CreateJob', create);
  check(missing.status === 401 && missing.body.code === 'UNAUTHENTICATED' &&
        /Bearer/.test(missing.body.message), `no token: ${JSON.stringify(missing)}`);
  const unknown = await call(base, 'GetJob', {job_id: 'team-a-1'},
                             {token: 'not-a-known-token-at-all'});
  check(unknown.status === 401, `unknown token: ${unknown.status}`);
  const viewer = await call(base, 'CreateJob', create, {token: tokens.viewer});
  check(viewer.status === 403 && viewer.body.code === 'PERMISSION_DENIED' &&
        /viewer/.test(viewer.body.message), `viewer CreateJob: ${JSON.stringify(viewer)}`);
  check((await call(base, 'ListJobs', {}, {token: tokens.viewer})).body.jobs.length === 0,
        'the viewer\'s refused CreateJob made a job');
  const outside = await call(base, 'CreateJob', {...create, job_id: 'team-b-1'},
                             {token: tokens.worker});
  check(outside.status === 403, `a worker outside its prefix: ${outside.status}`);
  await ok(base, 'CreateJob', create, {token: tokens.worker});
  await ok(base, 'Step', {job_id: 'team-a-1', step: '0'}, {token: tokens.worker});
  const workerSet = await call(base, 'SetLearningRate', {job_id: 'team-a-1', step: '0', factor: 2},
                               {token: tokens.worker});
  check(workerSet.status === 403, `a worker's SetLearningRate: ${workerSet.status}`);
  const set = await ok(base, 'SetLearningRate', {job_id: 'team-a-1', step: '0', factor: 2},
                       {token: tokens.operator});
  check(Number(set.override.effective_step) >= 1, 'the operator\'s override');
  await ok(base, 'PreviewSchedule', {spec: {step_lr: {step_size: '1'}}, base_lrs: [1], steps: 3},
           {token: tokens.viewer});
  const anonymous = await watch(base, 'team-a-1');
  check(anonymous.status === 401, `watching without a token: ${anonymous.status}`);
  const watched = await watch(base, 'team-a-1', {token: tokens.viewer});
  check(watched.status === 200 && (await watched.at(0)).data.created, 'a viewer cannot watch');
  watched.close();
  fs.rmSync(dir, {recursive: true, force: true});
  server.process.kill('SIGKILL');
}

// A request as written, over a socket of its own: the parts fetch will not
// send (another Host, a body shorter than its Content-Length).
function raw(port, text) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(text));
    let answer = '';
    socket.on('data', (data) => { answer += data; });
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

// What another site's page could do in a browser, and a body cut short:
// refused, and nothing changes.
async function crossSite(server) {
  const {base, httpPort} = server;
  await ok(base, 'CreateJob', {job_id: 'victim', spec: {step_lr: {step_size: '2'}}, base_lrs: [1]});
  const before = JSON.stringify(await ok(base, 'GetJob', {job_id: 'victim'}));
  const preflight = await fetch(`${base}/api/v1/DeleteJob`, {method: 'OPTIONS', headers: {
    'Origin': 'http://evil.example', 'Access-Control-Request-Method': 'POST',
    'Access-Control-Request-Headers': 'content-type'}});
  check(!preflight.headers.get('access-control-allow-origin') && preflight.status >= 400,
        `a preflight from another site was granted: ${preflight.status} ` +
        `${preflight.headers.get('access-control-allow-origin')}`);
  const fromElsewhere = await fetch(`${base}/api/v1/DeleteJob`, {method: 'POST',
    headers: {'Content-Type': 'application/json', 'Origin': 'http://evil.example'},
    body: JSON.stringify({job_id: 'victim'})});
  check(fromElsewhere.status === 403, `DeleteJob from another origin: ${fromElsewhere.status}`);
  const sameOrigin = await fetch(`${base}/api/v1/GetJob`, {method: 'POST',
    headers: {'Content-Type': 'application/json', 'Origin': base},
    body: JSON.stringify({job_id: 'victim'})});
  check(sameOrigin.status === 200, `GetJob from the page's own origin: ${sameOrigin.status}`);
  const body = JSON.stringify({job_id: 'victim'});
  const rebound = await raw(httpPort, `POST /api/v1/DeleteJob HTTP/1.1\r\nHost: evil.example:${httpPort}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  check(/^HTTP\/1\.1 403/.test(rebound), `a call to the name evil.example: ${rebound.split('\r\n')[0]}`);
  const cut = await raw(httpPort, `POST /api/v1/DeleteJob HTTP/1.1\r\nHost: 127.0.0.1:${httpPort}\r\n` +
    `Content-Type: application/json\r\nContent-Length: 100\r\n\r\n${body}`);
  check(/^HTTP\/1\.1 400/.test(cut) && /before its Content-Length/.test(cut),
        `a body shorter than its Content-Length: ${cut.split('\r\n')[0]}`);
  check(JSON.stringify(await ok(base, 'GetJob', {job_id: 'victim'})) === before,
        'a refused call changed the job');
  const negative = await fetch(`${base}/api/v1/WatchJob?job_id=victim&from_sequence=-3`);
  check(negative.status === 400, `WatchJob from_sequence=-3: ${negative.status}`);
}

// An Authorization header that gRPC metadata cannot carry (bytes outside
// printable ASCII) is refused on the HTTP side, and the server goes on: it
// ended the process before.
async function unsendableAuthorization(server) {
  const {base, httpPort} = server;
  const body = JSON.stringify({job_id: 'victim'});
  for (const value of ['Bearer \u0080abc', 'Bearer a\u0001b', 'Bearer \u00e9t\u00e9']) {
    for (const [method, target] of [['POST', '/api/v1/GetJob'],
                                    ['GET', '/api/v1/WatchJob?job_id=victim']]) {
      const answer = await raw(httpPort, `${method} ${target} HTTP/1.1\r\n` +
        `Host: 127.0.0.1:${httpPort}\r\nContent-Type: application/json\r\n` +
        `Authorization: ${value}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n` +
        `\r\n${body}`).catch((error) => `no answer: ${error.message}`);
      // civetweb refuses control characters itself (400); the rest is ours.
      check(/^HTTP\/1\.[01] 400/.test(answer) ||
            (/^HTTP\/1\.1 401/.test(answer) && /printable ASCII/.test(answer)),
            `${method} ${target} with Authorization ${JSON.stringify(value)}: ` +
            answer.split('\r\n')[0]);
    }
  }
  await ok(base, 'GetJob', {job_id: 'victim'});
}

async function behindMutualTls(binary) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'http-tls-'));
  childProcess.execFileSync(makeCerts, [dir], {stdio: 'ignore'});
  fs.writeFileSync(path.join(dir, 'callers.yaml'), `callers:
  - {name: o, role: operator, token: operator-token-0123456789}
  - {name: trainer, role: worker, certificate_name: "spiffe://lrsched.test/trainer"}
`);
  const mutualTls = [
    `--tls_cert_file=${path.join(dir, 'server.pem')}`, `--tls_key_file=${path.join(dir, 'server.key')}`,
    `--tls_client_ca_file=${path.join(dir, 'ca.pem')}`];
  // Without callers' tokens the page would admit anyone the gRPC port
  // requires a certificate of: the server does not start so.
  const refused = await startServer(binary, mutualTls).then(() => null, (error) => error.message);
  check(refused && /--http_listen with --tls_client_ca_file needs --auth_tokens_file/.test(refused),
        `mutual TLS without tokens and the page: ${refused}`);
  const server = await startServer(binary, [
    ...mutualTls, `--auth_tokens_file=${path.join(dir, 'callers.yaml')}`]);
  const create = {job_id: 't', spec: {step_lr: {step_size: '2'}}, base_lrs: [0.1]};
  const missing = await call(server.base, 'CreateJob', create);
  check(missing.status === 401 && missing.body.code === 'UNAUTHENTICATED',
        `behind mutual TLS, a call without a token: ${JSON.stringify(missing)}`);
  const job = await ok(server.base, 'CreateJob', create, {token: 'operator-token-0123456789'});
  check(job.job_id === 't', 'behind mutual TLS, the operator\'s CreateJob');
  const set = await ok(server.base, 'SetLearningRate', {job_id: 't', step: '3', factor: 0.5},
                       {token: 'operator-token-0123456789'});
  check(set.override.effective_step === '3', `behind mutual TLS: ${JSON.stringify(set)}`);
  server.process.kill('SIGKILL');
  fs.rmSync(dir, {recursive: true, force: true});
}

// One gRPC call over HTTP/2 as written, with the headers given (an empty
// request message); resolves with the trailers (or the headers of a
// trailers-only answer).
function rawGrpc(port, tls, method, headers) {
  return new Promise((resolve) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, tls);
    session.on('error', (error) => resolve({error: error.message}));
    const stream = session.request({':method': 'POST', ':path': method,
                                    'content-type': 'application/grpc', 'te': 'trailers',
                                    ...headers});
    let answer = {};
    stream.on('response', (head) => { answer = head; });
    stream.on('trailers', (trailers) => { answer = trailers; });
    stream.on('error', (error) => { answer = {error: error.message}; });
    stream.on('close', () => {
      session.close();
      resolve(answer);
    });
    stream.end(Buffer.alloc(5));
  });
}

function freePort() {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.listen(0, '127.0.0.1', () => {
      const port = probe.address().port;
      probe.close(() => resolve(port));
    });
  });
}

// Replicas on etcd with mutual TLS: the page's calls go through the
// replica's own gRPC port, over TLS, presenting the replica's certificate.
// That certificate names an operator here, and a call without a token must
// not become that operator; with the token, either replica serves the job
// from the leader.
async function replicasBehindMutualTls(binary) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'http-replicas-'));
  childProcess.execFileSync(makeCerts, [dir], {stdio: 'ignore'});
  const operator = 'operator-token-0123456789';
  fs.writeFileSync(path.join(dir, 'callers.yaml'), `callers:
  - {name: o, role: operator, token: ${operator}}
  - {name: the-replicas, role: operator, certificate_name: localhost}
`);
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const client = `http://127.0.0.1:${clientPort}`, peer = `http://127.0.0.1:${peerPort}`;
  const etcd = childProcess.spawn('/usr/bin/etcd', [
    '--name', 'm0', '--data-dir', path.join(dir, 'etcd'), '--listen-client-urls', client,
    '--advertise-client-urls', client, '--listen-peer-urls', peer,
    '--initial-advertise-peer-urls', peer, '--initial-cluster', `m0=${peer}`,
    '--log-level', 'warn'], {stdio: 'ignore'});
  process.on('exit', () => etcd.kill('SIGKILL'));
  for (let i = 0; ; i++) {
    const health = await fetch(`${client}/health`).then((r) => r.status, () => 0);
    if (health === 200) break;
    check(i < 300, 'etcd did not become healthy within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const flags = [
    `--store=etcd://127.0.0.1:${clientPort}/http-test/`, '--lease_ttl=2s',
    `--tls_cert_file=${path.join(dir, 'server.pem')}`, `--tls_key_file=${path.join(dir, 'server.key')}`,
    `--tls_client_ca_file=${path.join(dir, 'ca.pem')}`,
    `--auth_tokens_file=${path.join(dir, 'callers.yaml')}`];
  const replicas = [await startServer(binary, flags), await startServer(binary, flags)];
  const create = {job_id: 'r', spec: {step_lr: {step_size: '2'}}, base_lrs: [0.1]};
  for (const replica of replicas) {
    const page = await fetch(`${replica.base}/`);
    check(page.status === 200, `GET / of a replica: ${page.status}`);
    const anonymous = await call(replica.base, 'CreateJob', create);
    check(anonymous.status === 401 && anonymous.body.code === 'UNAUTHENTICATED',
          `a replica's page without a token: ${JSON.stringify(anonymous)}`);
    const listed = await call(replica.base, 'ListJobs', {});
    check(listed.status === 401, `a replica's ListJobs without a token: ${listed.status}`);
  }
  // Whichever replica leads: a call answers once one does (a standby says
  // UNAVAILABLE until then).
  let created = null;
  for (let i = 0; i < 100 && !(created && created.status === 200); i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    created = await call(replicas[1].base, 'CreateJob', create, {token: operator});
  }
  check(created.status === 200, `CreateJob through a replica's page: ${JSON.stringify(created)}`);
  const servedBy = new Set();
  for (const replica of replicas) {
    const job = await ok(replica.base, 'GetJob', {job_id: 'r'}, {token: operator});
    servedBy.add(job.served_by);
    const stream = await watch(replica.base, 'r', {token: operator});
    check(stream.status === 200, `WatchJob through a replica's page: ${stream.status}`);
    const first = await stream.at(0, 10000);
    check(first && first.data.created, `WatchJob through a replica: ${JSON.stringify(first)}`);
    stream.close();
  }
  check(servedBy.size === 1 && [...servedBy][0], `the replicas name leaders ${[...servedBy]}`);
  // Metadata that gRPC would not send on (a text value outside printable
  // ASCII; a gRPC library never sends it, a raw HTTP/2 client may): the
  // standby refuses the call rather than end its process, as it did.
  const standby = replicas.find((r) => `127.0.0.1:${r.grpcPort}` !== [...servedBy][0]);
  const tls = {ca: fs.readFileSync(path.join(dir, 'ca.pem')),
               cert: fs.readFileSync(path.join(dir, 'client.pem')),
               key: fs.readFileSync(path.join(dir, 'client.key')), servername: 'localhost'};
  const trailers = await rawGrpc(standby.grpcPort, tls, '/lrsched.v1.SchedulerService/ListJobs',
                                 {'authorization': `Bearer ${operator}`, 'x-odd': 'a\u0080b'});
  check(trailers['grpc-status'] === '3' && /printable ASCII/.test(trailers['grpc-message']),
        `a standby given metadata it cannot forward: ${JSON.stringify(trailers)}`);
  await ok(standby.base, 'GetJob', {job_id: 'r'}, {token: operator});
  for (const replica of replicas) replica.process.kill('SIGKILL');
  etcd.kill('SIGKILL');
  fs.rmSync(dir, {recursive: true, force: true});
  console.log(`replicas with mutual TLS: the page of each served by ${[...servedBy][0]}, ` +
              'with a token only');
}

(async () => {
  const started = Date.now();
  const server = await startServer(binary);
  await everyRpc(server.base);
  await crossSite(server);
  await unsendableAuthorization(server);
  await errors(server.base);
  await events(server.base);
  await streamLimit(binary);
  await auth(binary);
  await behindMutualTls(binary);
  await replicasBehindMutualTls(binary);
  server.process.kill('SIGKILL');
  console.log(`json_api_test: every RPC, errors, limits, events and roles checked in ` +
              `${Date.now() - started} ms`);
  process.exit(0);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
