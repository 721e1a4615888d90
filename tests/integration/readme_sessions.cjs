// The README's terminal sessions, re-run: reads the ```console blocks of the
// named sections, runs each `$ COMMAND` with bash and compares what it prints
// with what the README shows under it. readme_sessions_test.sh starts the
// server and the training run they are about, and states the rules.
//
//   node readme_sessions.cjs check README --section TITLE... [--before TEXT COMMAND]...
//       --before: runs COMMAND (bash) before the first README command that
//       contains TEXT: what the README assumes exists without showing it.
//   node readme_sessions.cjs grpcurl ARGS...
//       grpcurl's list, describe and calls, made with buf curl ($BUF) against
//       $README_SERVER (HOST:PORT), whatever address ARGS name.
'use strict';
const fs = require('fs');
const { spawn, spawnSync } = require('child_process');

function fail(message) {
  console.error(`readme_sessions: ${message}`);
  process.exit(1);
}

// ------------------------------------------------------------ the README

// The ```console blocks of the section titled `title` (any heading level; the
// section ends at the next heading of the same or a higher level), each as
// its lines. A heading-like line inside a fence is not a heading.
function consoleBlocks(readme, title) {
  const lines = readme.split('\n');
  const blocks = [];
  let level = 0, fence = null, block = null;
  for (const line of lines) {
    if (fence === null) {
      const heading = /^(#+) (.*)$/.exec(line);
      if (heading) {
        if (level > 0 && heading[1].length <= level) break;
        if (level === 0 && heading[2].trim() === title) level = heading[1].length;
        continue;
      }
      const open = /^(```+)\s*(\S*)/.exec(line);
      if (open) {
        fence = open[1];
        if (level > 0 && open[2] === 'console') block = [];
      }
    } else if (line.startsWith(fence) && line.trim() === fence) {
      if (block !== null) blocks.push(block);
      fence = null;
      block = null;
    } else if (block !== null) {
      block.push(line);
    }
  }
  if (level === 0) fail(`the README has no section "${title}"`);
  if (blocks.length === 0) fail(`section "${title}" has no console block`);
  return blocks;
}

// Whether `text` ends outside quotes and not after a backslash: a complete
// shell command (for commands that the README continues over lines).
function complete(text) {
  let quote = null;
  for (let i = 0; i < text.length; ++i) {
    const c = text[i];
    if (quote === "'") {
      if (c === "'") quote = null;
    } else if (c === '\\') {
      if (i + 1 === text.length) return false;
      ++i;
    } else if (quote === '"') {
      if (c === '"') quote = null;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) {
      return true;  // a comment to the end of the line
    }
  }
  return quote === null;
}

// A block as [{command, shown}]: a command starts at `$ ` and goes on while
// it is incomplete; the lines up to the next command are what it prints,
// without the blank lines around them.
function session(block) {
  const steps = [];
  for (let i = 0; i < block.length;) {
    if (!block[i].startsWith('$ ')) {
      if (block[i].trim() !== '' && steps.length === 0) {
        fail(`output before any command: ${block[i]}`);
      }
      if (steps.length > 0) steps[steps.length - 1].shown.push(block[i]);
      ++i;
      continue;
    }
    let command = block[i++].slice(2);
    while (!complete(command)) {
      if (i === block.length) fail(`the command does not end: ${command}`);
      command += '\n' + block[i++];
    }
    steps.push({ command, shown: [] });
  }
  for (const step of steps) {
    while (step.shown.length > 0 && step.shown[0].trim() === '') step.shown.shift();
    while (step.shown.length > 0 && step.shown[step.shown.length - 1].trim() === '') {
      step.shown.pop();
    }
  }
  return steps;
}

// ------------------------------------------------------------ masking

const kTime = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?/g;
// A line of `lrschedctl watch`: its sequence number, the time, the event.
const kEventLine = /^\s*\d+ \d{4}-\d\d-\d\dT/;
const kReport = /^(\s*)(\d+) (<time>) report: step (\d+) rank (\d+) (.*)$/;

// The rules of readme_sessions_test.sh's header, applied alike to what the
// README shows and to what a command printed.
function masked(lines) {
  const out = lines.map((line) => line.replace(/\s+$/, '')
                                      .replace(kTime, '<time>')
                                      .replace(/\(\d+ bytes stored\)/, '(<n> bytes stored)'));
  // The reports of one step, in rank order and numbered in that order.
  for (let i = 0; i < out.length;) {
    const first = kReport.exec(out[i]);
    let j = i + 1;
    while (first && j < out.length) {
      const next = kReport.exec(out[j]);
      if (!next || next[4] !== first[4]) break;
      ++j;
    }
    if (first && j - i > 1) {
      const group = out.slice(i, j).map((line) => kReport.exec(line));
      const numbers = group.map((m) => Number(m[2])).sort((a, b) => a - b);
      group.sort((a, b) => Number(a[5]) - Number(b[5]));
      group.forEach((m, k) => {
        const number = String(numbers[k]).padStart(m[1].length + m[2].length);
        out[i + k] = `${number} ${m[3]} report: step ${m[4]} rank ${m[5]} ${m[6]}`;
      });
    }
    i = j;
  }
  return out;
}

const kElided = /^\s*\.\.\.$/;

// Whether `lines` match `pattern` from `at` on: a line `...` stands for one
// or more lines left out; with `rest`, lines after the pattern may follow.
function matches(pattern, lines, rest, p = 0, at = 0) {
  if (p === pattern.length) return rest || at === lines.length;
  if (kElided.test(pattern[p])) {
    for (let skip = at + 1; skip <= lines.length; ++skip) {
      if (matches(pattern, lines, rest, p + 1, skip)) return true;
    }
    return false;
  }
  return at < lines.length && pattern[p] === lines[at] &&
         matches(pattern, lines, rest, p + 1, at + 1);
}

function difference(shown, printed) {
  return `the README shows:\n${shown.join('\n')}\n--- it printed:\n${printed.join('\n')}`;
}

// ------------------------------------------------------------ grpcurl's answers

function camel(key) { return key.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase()); }
function normalized(value) {
  if (Array.isArray(value)) return value.map(normalized);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [camel(k), normalized(v)])
                                    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
  return value;
}
// Consecutive JSON documents (a streaming answer prints one per message).
function documents(text) {
  const docs = [];
  let depth = 0, start = -1, quote = false;
  for (let i = 0; i < text.length; ++i) {
    const c = text[i];
    if (quote) {
      if (c === '\\') ++i;
      else if (c === '"') quote = false;
    } else if (c === '"') {
      quote = true;
    } else if (c === '{' || c === '[') {
      if (depth++ === 0) start = i;
    } else if (c === '}' || c === ']') {
      if (--depth === 0) docs.push(JSON.parse(text.slice(start, i + 1)));
    } else if (depth === 0 && !/\s/.test(c)) {
      throw new Error(`not JSON at '${text.slice(i, i + 20)}'`);
    }
  }
  if (depth !== 0) throw new Error('unterminated JSON');
  return docs;
}

// grpcurl's answer against the README: a call's JSON compared as values, a
// `list` as the set of its lines, anything else line by line.
function compareGrpcurl(argv, shown, printed) {
  // grpcurl, the address, then list, describe or the method.
  const words = argv.filter((w, i) => !w.startsWith('-') && !(i > 0 && argv[i - 1] === '-d'));
  const verb = words[2];
  if (verb === 'list') {
    const set = (lines) => [...new Set(lines.map((l) => l.trim()).filter(Boolean))].sort();
    return JSON.stringify(set(shown)) === JSON.stringify(set(printed));
  }
  if (verb === 'describe') {
    const squeezed = (lines) => lines.map((l) => l.trim().replace(/\s+/g, ' ')).filter(Boolean);
    return JSON.stringify(squeezed(shown)) === JSON.stringify(squeezed(printed));
  }
  let want, got;
  try {
    want = documents(shown.join('\n')).map(normalized);
  } catch (error) {
    fail(`the README's answer is not JSON (${error.message}):\n${shown.join('\n')}`);
  }
  try {
    got = documents(printed.join('\n')).map(normalized);
  } catch (error) {
    return false;
  }
  const maskedJson = (docs) => JSON.stringify(docs).replace(kTime, '<time>')
                                   .replace(/"storedBytes":"\d+"/g, '"storedBytes":"<n>"');
  return maskedJson(want) === maskedJson(got);
}

// ------------------------------------------------------------ running a block

const env = { ...process.env };
function bash(command, options = {}) {
  return spawnSync('bash', ['-c', `exec 2>&1\n${command}`],
                   { env, encoding: 'utf8', timeout: 120000, ...options });
}
function argvOf(command) {
  const r = spawnSync('bash', ['-c', `words() { printf '%s\\0' "$@"; }\nwords ${command}`],
                      { encoding: 'utf8' });
  return r.stdout.split('\0').slice(0, -1);
}
function linesOf(text) {
  const lines = text.replace(/\n$/, '').split('\n');
  return lines.length === 1 && lines[0] === '' ? [] : lines;
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A command that follows (watch): runs in the background; its lines so far.
class Follower {
  constructor(command, jobId) {
    this.command = command;
    this.jobId = jobId;
    this.text = '';
    this.child = spawn('bash', ['-c', `exec 2>&1\n${command}`],
                       { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.child.stdout.on('data', (data) => {
      this.text += data;
    });
  }
  lines() { return linesOf(this.text.replace(/[^\n]*$/, '')); }
  // The sequence number of the last event printed, 0 before the first.
  lastSequence() {
    const events = this.lines().filter((line) => kEventLine.test(line));
    return events.length ? Number(events[events.length - 1].trim().split(' ')[0]) : 0;
  }
  // Waits until it has printed the job's every event so far: it has caught
  // up with the job, however slowly it prints.
  async settle() {
    const r = bash(`lrschedctl get ${this.jobId} --output=json`);
    if (r.status !== 0) fail(`lrschedctl get ${this.jobId} failed:\n${r.stdout}`);
    const events = Number(JSON.parse(r.stdout).event_count || 0);
    const giveUp = Date.now() + 60000;
    while (this.lastSequence() < events) {
      if (Date.now() > giveUp) {
        fail(`${this.command}: printed up to event ${this.lastSequence()} of ${events} in 60 s`);
      }
      await sleep(20);
    }
  }
  stop() {
    try { process.kill(-this.child.pid, 'SIGKILL'); } catch (error) { /* already gone */ }
  }
}

async function runBlock(section, steps, before, errors) {
  let follower = null, followerShown = null, expectations = [];
  for (const step of steps) {
    for (const hook of before) {
      if (!hook.done && step.command.includes(hook.text)) {
        hook.done = true;
        const r = bash(hook.command);
        if (r.status !== 0) fail(`setting up for "${hook.text}" failed:\n${r.stdout}`);
      }
    }
    const where = `[${section}] $ ${step.command}`;
    const subcommand = argvOf(step.command).slice(1).find((word) => !word.startsWith('-'));
    if (step.command.startsWith('lrschedctl ') && subcommand === 'watch') {
      if (follower !== null) fail(`${where}: one watch per block`);
      const words = argvOf(step.command);
      const job = words.slice(words.indexOf('watch') + 1).find((word) => !word.startsWith('-'));
      follower = new Follower(step.command, job);
      followerShown = masked(step.shown);
      continue;
    }
    // Lines in the shape of watch's that the README shows after another
    // command: the running watch prints them, after that command.
    const events = follower ? step.shown.filter((line) => kEventLine.test(line)) : [];
    const shown = step.shown.filter((line) => !events.includes(line));
    if (follower) {
      await follower.settle();
      expectations.push({ where, at: follower.lines().length, events: masked(events) });
    }
    const r = bash(step.command);
    const printed = linesOf(r.stdout || '');
    if (r.status !== 0) {
      errors.push(`${where}\n  exited ${r.status}${r.signal ? ` (${r.signal})` : ''}:\n` +
                  printed.join('\n'));
      continue;
    }
    const same = step.command.startsWith('grpcurl ')
                     ? compareGrpcurl(argvOf(step.command), shown, printed)
                     : matches(masked(shown), masked(printed), false);
    if (!same) errors.push(`${where}\n${difference(shown, printed)}`);
  }
  if (follower === null) return;
  await follower.settle();
  follower.stop();
  const printed = follower.lines();
  const all = masked(printed);
  // What the README shows under watch, then lines it prints before the next
  // command ran; each later command's lines right at the point it ran.
  const first = expectations.length ? expectations[0].at : all.length;
  if (!matches(followerShown, all.slice(0, first), true)) {
    errors.push(`[${section}] $ ${follower.command}\n` +
                difference(followerShown, printed.slice(0, first)));
  }
  for (const e of expectations) {
    const got = all.slice(e.at, e.at + e.events.length);
    if (JSON.stringify(got) !== JSON.stringify(e.events)) {
      errors.push(`${e.where}\n  the watch: ${difference(e.events, printed.slice(e.at))}`);
    }
  }
}

async function check(args) {
  const readmePath = args[0];
  const titles = [], before = [];
  for (let i = 1; i < args.length; ++i) {
    if (args[i] === '--section') titles.push(args[++i]);
    else if (args[i] === '--before') before.push({ text: args[++i], command: args[++i] });
    else fail(`unknown argument ${args[i]}`);
  }
  const readme = fs.readFileSync(readmePath, 'utf8');
  const errors = [];
  let commands = 0;
  for (const title of titles) {
    for (const block of consoleBlocks(readme, title)) {
      const steps = session(block);
      if (steps.length === 0) fail(`a console block of "${title}" has no $ command`);
      for (const step of steps) {
        if (!/^(lrschedctl|grpcurl)\s/.test(step.command)) {
          fail(`[${title}] $ ${step.command}: only lrschedctl and grpcurl are re-run`);
        }
      }
      commands += steps.length;
      await runBlock(title, steps, before, errors);
    }
  }
  for (const hook of before) {
    if (!hook.done) errors.push(`no README command contains "${hook.text}" any more`);
  }
  if (errors.length > 0) {
    fail(`${errors.length} README command(s) do not print what the README shows ` +
         `(${readmePath}):\n\n${errors.join('\n\n')}`);
  }
  console.log(`readme_sessions: the ${commands} commands of ${titles.join(', ')} print ` +
              'what the README shows');
}

// ------------------------------------------------------------ grpcurl by buf curl

// A protobuf message's fields: [number, wire type, value] (bytes for
// length-delimited fields, a number for varints).
function fields(bytes) {
  const out = [];
  let i = 0;
  const varint = () => {
    let value = 0, shift = 0, b;
    do {
      b = bytes[i++];
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return value;
  };
  while (i < bytes.length) {
    const key = varint(), number = Math.floor(key / 8), type = key % 8;
    if (type === 0) out.push([number, type, varint()]);
    else if (type === 1) { out.push([number, type, bytes.subarray(i, i + 8)]); i += 8; }
    else if (type === 5) { out.push([number, type, bytes.subarray(i, i + 4)]); i += 4; }
    else if (type === 2) {
      const size = varint();
      out.push([number, type, bytes.subarray(i, i + size)]);
      i += size;
    } else throw new Error(`wire type ${type}`);
  }
  return out;
}
const text = (b) => Buffer.from(b).toString('utf8');
const field = (fs_, n) => fs_.filter(([k]) => k === n).map(([, , v]) => v);

// FileDescriptorProto: package 2, service 6; ServiceDescriptorProto: name 1,
// method 2; MethodDescriptorProto: name 1, input 2, output 3, streaming 5, 6.
function servicesOf(file) {
  const f = fields(file);
  const pkg = field(f, 2).map(text)[0] || '';
  return field(f, 6).map((s) => {
    const sf = fields(s);
    return {
      name: `${pkg ? pkg + '.' : ''}${text(field(sf, 1)[0])}`,
      methods: field(sf, 2).map((m) => {
        const mf = fields(m);
        return { name: text(field(mf, 1)[0]), input: text(field(mf, 2)[0]),
                 output: text(field(mf, 3)[0]), clientStreaming: field(mf, 5)[0] === 1,
                 serverStreaming: field(mf, 6)[0] === 1 };
      }),
    };
  });
}
// As grpcurl prints a method.
function rpcLine(m) {
  return `rpc ${m.name} ( ${m.clientStreaming ? 'stream ' : ''}${m.input} ) returns ` +
         `( ${m.serverStreaming ? 'stream ' : ''}${m.output} );`;
}

function grpcurl(argv) {
  const buf = process.env.BUF, server = process.env.README_SERVER;
  let plaintext = false, data = null;
  const words = [];
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === '-plaintext') plaintext = true;
    else if (argv[i] === '-d') data = argv[++i];
    else if (argv[i].startsWith('-')) fail(`grpcurl ${argv[i]}: not translated to buf curl`);
    else words.push(argv[i]);
  }
  if (!plaintext) fail('grpcurl without -plaintext: the test server speaks plaintext');
  if (words.length < 2) fail('grpcurl: an address and a verb or method are needed');
  const url = `http://${server}`;
  const curl = (...rest) => {
    const r = spawnSync(buf, ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', ...rest],
                        { encoding: 'utf8' });
    process.stderr.write(r.stderr);
    if (r.status !== 0) process.exit(r.status || 1);
    return r.stdout;
  };
  const [, verb, symbol] = words;
  if (verb === 'list') {
    if (!symbol) return process.stdout.write(curl('--list-services', url));
    const methods = linesOf(curl('--list-methods', url))
                        .filter((m) => m.startsWith(symbol + '/')).map((m) => m.replace('/', '.'));
    return console.log(methods.join('\n'));
  }
  if (verb === 'describe') {
    if (!symbol) fail('grpcurl describe without a symbol: not translated');
    const answer = JSON.parse(curl('--data', JSON.stringify({ file_containing_symbol: symbol }),
                                   `${url}/grpc.reflection.v1alpha.ServerReflection/` +
                                   'ServerReflectionInfo'));
    if (answer.errorResponse) {
      console.error(`Failed to resolve symbol "${symbol}": ${answer.errorResponse.errorMessage}`);
      process.exit(1);
    }
    const files = answer.fileDescriptorResponse.fileDescriptorProto;
    for (const service of files.flatMap((f) => servicesOf(Buffer.from(f, 'base64')))) {
      if (service.name === symbol) {
        console.log(`${symbol} is a service:`);
        console.log(`service ${symbol.split('.').pop()} {`);
        for (const m of service.methods) console.log(`  ${rpcLine(m)}`);
        return console.log('}');
      }
      for (const m of service.methods) {
        if (`${service.name}.${m.name}` === symbol) {
          console.log(`${symbol} is a method:`);
          return console.log(rpcLine(m));
        }
      }
    }
    fail(`grpcurl describe ${symbol}: only services and methods are translated`);
  }
  const method = verb.includes('/') ? verb : verb.replace(/\.([^.]*)$/, '/$1');
  process.stdout.write(curl(...(data === null ? [] : ['--data', data]), `${url}/${method}`));
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'check') check(rest).catch((error) => fail(error.stack));
else if (mode === 'grpcurl') grpcurl(rest);
else fail('usage: readme_sessions.cjs check README --section TITLE... | grpcurl ARGS...');
