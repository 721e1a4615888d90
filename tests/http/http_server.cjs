// What the HTTP and browser tests share: lrsched-server started with
// --http_listen on loopback ports it picks (killed when the test ends), the
// JSON API called as any HTTP client would (Node's fetch), and WatchJob's
// Server-Sent Events read as they arrive.
'use strict';
const childProcess = require('child_process');

const children = [];
process.on('exit', () => { for (const child of children) child.kill('SIGKILL'); });

function fail(message) {
  console.error(`FAIL: ${message}`);
  for (const child of children) {
    if (child.output) console.error(`--- server output ---\n${child.output.slice(-3000)}`);
  }
  process.exit(1);
}

function check(condition, message) {
  if (!condition) fail(message);
}

// Starts `binary` serving gRPC and HTTP on ports it picks; resolves with
// {grpcPort, httpPort, base, process}.
function startServer(binary, flags = []) {
  // A state in memory unless the flags name a store.
  const state = flags.some((flag) => flag.startsWith('--store=')) ? [] : ['--state=:memory:'];
  const child = childProcess.spawn(binary, ['--listen=127.0.0.1:0', ...state,
                                            '--http_listen=127.0.0.1:0', ...flags],
                                   {stdio: ['ignore', 'pipe', 'pipe']});
  child.output = '';
  children.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ports in:\n${child.output}`)), 10000);
    const look = () => {
      const grpc = child.output.match(/\(port (\d+)\)/);
      const http = child.output.match(/\(http port (\d+)\)/);
      if (grpc && http) {
        clearTimeout(timer);
        resolve({grpcPort: Number(grpc[1]), httpPort: Number(http[1]),
                 base: `http://127.0.0.1:${http[1]}`, process: child});
      }
    };
    child.stdout.on('data', (d) => { child.output += d; look(); });
    child.stderr.on('data', (d) => { child.output += d; });
    child.on('exit', (code) => reject(new Error(`server exited (${code}):\n${child.output}`)));
  });
}

// POST /api/v1/RPC; resolves with {status, body} (body parsed when JSON).
async function call(base, rpc, request, {token, contentType = 'application/json'} = {}) {
  const headers = {'Content-Type': contentType};
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(`${base}/api/v1/${rpc}`, {
    method: 'POST', headers,
    body: typeof request === 'string' ? request : JSON.stringify(request)});
  const text = await response.text();
  let body = text;
  try { body = JSON.parse(text); } catch (e) { /* not JSON: kept as text */ }
  return {status: response.status, body, type: response.headers.get('content-type')};
}

// Calls and fails the test unless the answer is 200; resolves with the body.
async function ok(base, rpc, request, options) {
  const answer = await call(base, rpc, request, options);
  check(answer.status === 200,
        `${rpc} ${JSON.stringify(request)}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

// Opens GET /api/v1/WatchJob: resolves with {status, events, next(ms), close()}
// once the head arrived; events collects {id, event, data} as they come.
async function watch(base, jobId, {fromSequence, lastEventId, token} = {}) {
  const controller = new AbortController();
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (lastEventId !== undefined) headers['Last-Event-ID'] = String(lastEventId);
  let url = `${base}/api/v1/WatchJob?job_id=${encodeURIComponent(jobId)}`;
  if (fromSequence !== undefined) url += `&from_sequence=${fromSequence}`;
  const response = await fetch(url, {headers, signal: controller.signal});
  const stream = {status: response.status, type: response.headers.get('content-type'),
                  events: [], ended: false, waiters: []};
  stream.close = () => controller.abort();
  if (response.status !== 200) {
    stream.body = JSON.parse(await response.text());
    return stream;
  }
  // Resolves with the events[index] once it arrived, or null after `ms`.
  stream.at = (index, ms = 2000) => new Promise((resolve) => {
    if (stream.events.length > index) return resolve(stream.events[index]);
    const timer = setTimeout(() => resolve(null), ms);
    stream.waiters.push(() => {
      if (stream.events.length > index) {
        clearTimeout(timer);
        resolve(stream.events[index]);
        return true;
      }
      return false;
    });
  });
  (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk, {stream: true});
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = {event: 'message', received: Date.now()};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const field = line.slice(0, colon);
            const value = line.slice(colon + 1).replace(/^ /, '');
            if (field === 'data') event.data = JSON.parse(value);
            else if (field === 'id' || field === 'event') event[field] = value;
          }
          if (event.data === undefined) continue;
          stream.events.push(event);
          stream.waiters = stream.waiters.filter((waiter) => !waiter());
        }
      }
    } catch (error) {
      if (error.name !== 'AbortError') stream.error = error;
    }
    stream.ended = true;
  })();
  return stream;
}

module.exports = {startServer, call, ok, watch, check, fail};
