// What the launch tests that run a rendered overlay share: the processes
// they start from the manifests' commands (output kept for failures, every
// one killed when the test ends), and a loud failure.
'use strict';
const net = require('net');
const childProcess = require('child_process');

// `testName` prefixes the failure message.
module.exports = function launcher(testName) {
  const children = [];
  function fail(message) {
    console.error(`${testName}: ${message}`);
    for (const child of children) child.kill('SIGKILL');
    process.exit(1);
  }
  process.on('exit', () => { for (const child of children) child.kill('SIGKILL'); });

  // Starts `command` as `what`; `exited` resolves with its code, signal and time.
  function start(what, command, options) {
    const child = childProcess.spawn(command[0], command.slice(1),
                                     {stdio: ['ignore', 'pipe', 'pipe'], ...options});
    child.what = what;
    child.output = '';
    child.stdout.on('data', (d) => { child.output += d; });
    child.stderr.on('data', (d) => { child.output += d; });
    child.on('error', (error) => fail(`${what}: ${command[0]}: ${error.message}`));
    child.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
      child.exitCode_ = code;
      child.exitSignal_ = signal;
      resolve({code, signal, at: Date.now()});
    }));
    children.push(child);
    return child;
  }
  const tail = (child) => child.output.split('\n').slice(-15).join('\n');
  function portIsFree(host, port) {
    return new Promise((resolve) => {
      const probe = net.createServer().once('error', () => resolve(false))
                                      .listen(port, host, () => probe.close(() => resolve(true)));
    });
  }
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  return {fail, start, tail, portIsFree, sleep};
};
