#!/usr/bin/env node
// The web page in Debian's Chromium (driven by puppeteer-core) against a
// real server: the configure form draws exactly PreviewSchedule's values for
// a cosine, a cyclic and a warm-up-then-plateau spec; an invalid parameter
// shows the server's message beside its field; a job created from the page
// and driven by two workers (buf curl on the gRPC port) shows each new step
// and the reduction mark within a second, without reload; a learning rate
// set from the page takes effect at the step the page says; every field has
// a label. Screenshots of both pages go to OUTPUT_DIR and are checked for
// drawn content.
//
// Usage: page_test.cjs SERVER_BINARY TOOLS_DIR OUTPUT_DIR
'use strict';
const childProcess = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const {startServer, ok, check, fail} = require('../http/http_server.cjs');

const [binary, tools, output] = process.argv.slice(2);
const puppeteer = require(path.resolve(tools, 'node_modules', 'puppeteer-core'));
const buf = path.resolve(tools, 'node_modules', '.bin', 'buf');
const pngCheck = path.join(__dirname, '..', 'testing', 'png_check.cjs');
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls `probe` (in the page) until it returns something truthy; resolves
// with it and the time it took, or null after `ms`.
async function until(page, probe, ms, ...args) {
  const started = Date.now();
  while (Date.now() - started < ms) {
    const value = await page.evaluate(probe, ...args);
    if (value) return {value, after: Date.now() - started};
    await sleep(20);
  }
  return null;
}

// A gRPC call on the server's gRPC port, as a worker makes it.
function grpc(port, rpc, request) {
  const out = childProcess.execFileSync(
      buf, ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', '--data',
            JSON.stringify(request), `http://127.0.0.1:${port}/lrsched.v1.SchedulerService/${rpc}`],
      {encoding: 'utf8'});
  return JSON.parse(out || '{}');
}

async function setField(page, selector, value) {
  await page.focus(selector);
  await page.$eval(selector, (input) => { input.value = ''; });
  await page.keyboard.type(String(value));
}

// The chart's data equals the response's values, bit for bit: [steps, the
// learning rate of each group, the momentum of each group where cycled].
function sameValues(chartData, values) {
  const groups = values[0].lrs.length;
  if (!chartData || chartData[0].length !== values.length ||
      chartData.length !== 1 + groups + values[0].momentums.length) {
    return false;
  }
  return values.every((v, t) => chartData[0][t] === Number(v.step) &&
                                v.lrs.every((lr, g) => chartData[1 + g][t] === lr) &&
                                v.momentums.every((m, g) => chartData[1 + groups + g][t] === m));
}

async function expectPreview(page, base, request, what) {
  const expected = (await ok(base, 'PreviewSchedule', request)).values;
  // Read back from the chart itself: the data uPlot draws.
  const drawn = await until(page, (values) => {
    const chart = document.getElementById('preview-chart').chart;
    const data = chart && chart.data;
    const groups = values[0].lrs.length;
    const momentums = values[0].momentums.length;
    if (!data || data[0].length !== values.length || data.length !== 1 + groups + momentums) {
      return false;
    }
    return values.every((v, t) => data[0][t] === Number(v.step) &&
                                  v.lrs.every((lr, g) => data[1 + g][t] === lr) &&
                                  v.momentums.every((m, g) => data[1 + groups + g][t] === m));
  }, 5000, expected);
  if (!drawn) {
    const got = await page.evaluate(() => document.getElementById('preview-chart').chart?.data);
    fail(`${what}: the chart does not draw PreviewSchedule's values; it has ` +
         `${JSON.stringify(got && got.map((s) => s.slice(0, 6)))} for ` +
         `${JSON.stringify(expected.slice(0, 6))}`);
  }
  check(sameValues(await page.evaluate(() => document.getElementById('preview-chart').chart.data),
                   expected), `${what}: not the same values`);
  console.log(`  ${what}: ${expected.length} steps drawn as PreviewSchedule gave them` +
              (expected[0].momentums.length ? ', momentum too' : ''));
}

function pictureCheck(file, width, height) {
  childProcess.execFileSync('node', [pngCheck, file, String(width), String(height)],
                           {stdio: 'inherit'});
}

async function screenshot(page, name) {
  const file = path.join(output, `${name}.png`);
  await page.evaluate(() => {
    document.activeElement?.blur();
    window.scrollTo(0, 0);
  });
  await sleep(100);
  await page.screenshot({path: file});
  pictureCheck(file, 1280, 900);
  return file;
}

async function configurePage(page, base) {
  await page.goto(`${base}/#/configure`, {waitUntil: 'load'});
  // Every field has a label or an accessible name.
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
      .filter((e) => !e.labels?.length && !e.getAttribute('aria-label')).map((e) => e.id));
  check(unlabelled.length === 0, `fields without a label: ${unlabelled}`);

  // A cosine, with two groups.
  await page.select('#preset', 'kind:cosine_annealing_lr');
  await setField(page, '#base_lrs', '0.1, 0.01');
  await setField(page, '#p-spec-cosine_annealing_lr-t_max', '40');
  await setField(page, '#p-spec-cosine_annealing_lr-eta_min', '0.001');
  await setField(page, '#steps', '100');
  await expectPreview(page, base, {spec: {cosine_annealing_lr: {t_max: 40, eta_min: 0.001}},
                                   base_lrs: [0.1, 0.01], steps: 100}, 'cosine');

  // An invalid parameter: the server's message beside its field.
  await setField(page, '#p-spec-cosine_annealing_lr-t_max', '0');
  const refusal = await fetch(`${base}/api/v1/PreviewSchedule`, {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({spec: {cosine_annealing_lr: {t_max: 0, eta_min: 0.001}},
                          base_lrs: [0.1, 0.01], steps: 100})}).then((r) => r.json());
  const shown = await until(page, () => {
    const field = document.querySelector('.field[data-path="spec.cosine_annealing_lr.t_max"]');
    const input = field.querySelector('input');
    return input.getAttribute('aria-invalid') === 'true' && field.querySelector('.error').textContent;
  }, 10000);
  check(shown && shown.value === refusal.message,
        `the field shows ${JSON.stringify(shown && shown.value)}, not the server's ` +
        `${JSON.stringify(refusal.message)}`);
  console.log(`  an invalid t_max shows "${refusal.message}" beside its field`);
  await setField(page, '#p-spec-cosine_annealing_lr-t_max', '40');

  // A cyclic one, its mode chosen from the list.
  await page.select('#preset', 'kind:cyclic_lr');
  await setField(page, '#base_lrs', '0.1');
  await setField(page, '#p-spec-cyclic_lr-step_size_up', '10');
  await page.select('#p-spec-cyclic_lr-mode', 'TRIANGULAR2');
  await expectPreview(page, base, {spec: {cyclic_lr: {base_lr: [0.001], max_lr: [0.1],
                                                      step_size_up: 10, mode: 'TRIANGULAR2'}},
                                   base_lrs: [0.1], steps: 100}, 'cyclic');

  // A warm-up then a plateau, driven by a metric curve typed in.
  await page.select('#preset', 'warm-up then plateau');
  await setField(page, '#steps', '30');
  const metrics = Array.from({length: 30}, (_, t) => (t < 8 ? 1 - t / 10 : 0.3));
  await page.$eval('#metrics', (area, text) => {
    area.value = text;
    area.dispatchEvent(new Event('input', {bubbles: true}));
  }, metrics.join(', '));
  const plateau = {sequential_lr: {schedulers: [{linear_lr: {start_factor: 0.1, total_iters: 5}},
                                                {reduce_lr_on_plateau: {patience: 3, factor: 0.5}}],
                                   milestones: [5]}};
  await expectPreview(page, base, {spec: plateau, base_lrs: [0.1], steps: 30, metrics},
                      'warm-up then plateau');
  const snippets = await page.$eval('#snippets', (node) => node.textContent);
  check(snippets.includes('lrschedctl --server=') && snippets.includes('RemoteScheduler(') &&
        snippets.includes('"sequential_lr"'), 'the snippets to start the job are missing');
  return screenshot(page, 'configure');
}

async function jobPage(page, server) {
  const base = server.base;
  await setField(page, '#job_id', 'web-1');
  await setField(page, '#world_size', '2');
  await page.click('#create-job');
  check(await until(page, () => location.hash === '#/job/web-1', 10000), 'no job page after create');
  const created = await ok(base, 'GetJob', {job_id: 'web-1'});
  check(created.world_size === 2 && created.base_lrs[0] === 0.1 &&
        created.spec.sequential_lr.milestones[0] === '5' &&
        created.spec.sequential_lr.schedulers[1].reduce_lr_on_plateau.patience === '3',
        `the job is not the one configured: ${JSON.stringify(created)}`);
  check(await until(page, () => /Live/.test(document.getElementById('job-status').textContent), 10000),
        'the job page is not live');

  const port = server.grpcPort;
  let slowest = 0;
  let reducedAt = -1;
  // Warm-up (5 steps) then a flat metric: patience 3 reduces after 4 bad steps.
  const workersGot = {};
  for (let step = 0; step < 11; step++) {
    for (const rank of [0, 1]) {
      workersGot[step] = grpc(port, 'Step', {job_id: 'web-1', rank, step}).values[0].lrs[0];
    }
    const shown = await until(page, (s) => {
      const data = window.lrschedPage.job.chartData;
      return data && data[0].length && data[0][data[0].length - 1] >= s;
    }, 5000, step);
    check(shown, `step ${step} was not shown within 5 s`);
    slowest = Math.max(slowest, shown.after);
    let decision = null;
    for (const rank of [0, 1]) {
      decision = grpc(port, 'ReportMetric', {job_id: 'web-1', rank, step, value: 0.5});
    }
    // The warm-up's metrics are accepted and unused: ReduceLROnPlateau takes
    // over at the milestone, step 5.
    if (step >= 5) {
      const metric = await until(page, (s) => {
        const data = window.lrschedPage.job.metricData;
        return data && data[0].includes(s);
      }, 5000, step);
      check(metric, `the metric of step ${step} was not shown within 5 s`);
      slowest = Math.max(slowest, metric.after);
    }
    if (decision.decision && decision.decision.reduced && reducedAt < 0) {
      reducedAt = step + 1;
      const mark = await until(page, (s) => window.lrschedPage.job.marks.some(
          (m) => m.kind === 'reduce' && m.step === s), 5000, reducedAt);
      check(mark, `the reduction at step ${reducedAt} was not marked within 5 s`);
      slowest = Math.max(slowest, mark.after);
      const listed = await page.$eval('#job-marks', (node) => node.textContent);
      check(listed.includes(`step ${reducedAt}: plateau reduction`), `marks: ${listed}`);
    }
  }
  check(reducedAt > 0, 'the flat metric never reduced the learning rate');
  console.log(`  11 steps and the reduction at step ${reducedAt} shown live, each within ` +
              `${slowest} ms`);

  // Workers' progress.
  const workers = await page.$eval('#workers-table tbody', (node) => node.textContent);
  check(/^0/.test(workers) && workers.includes('1'), `workers: ${workers}`);

  // Set the learning rate from the page; it takes effect at the step it says.
  await page.select('#override-mode', 'lrs');
  await setField(page, '#override-value', '0.02');
  await setField(page, '#override-step', '0');
  await page.click('#override-submit');
  const said = await until(page, () => {
    const text = document.getElementById('override-status').textContent;
    const match = /Takes effect at step (\d+)/.exec(text);
    return match && Number(match[1]);
  }, 10000);
  check(said, 'the page did not say where the override takes effect');
  const effective = said.value;
  for (let step = 11; step <= effective; step++) {
    for (const rank of [0, 1]) {
      const values = grpc(port, 'Step', {job_id: 'web-1', rank, step}).values;
      workersGot[step] = values[0].lrs[0];
      if (step === effective) {
        check(values[0].lrs[0] === 0.02, `step ${step} has ${values[0].lrs[0]}, not 0.02`);
      } else {
        check(values[0].lrs[0] !== 0.02, `step ${step}, before ${effective}, already has 0.02`);
      }
    }
    if (step < effective) {
      for (const rank of [0, 1]) grpc(port, 'ReportMetric', {job_id: 'web-1', rank, step, value: 0.5});
    }
  }
  const marked = await until(page, (s) => window.lrschedPage.job.marks.some(
      (m) => m.kind === 'override' && m.step === s), 5000, effective);
  check(marked, `the override at step ${effective} is not marked`);
  console.log(`  set-lr from the page took effect at step ${effective}, as the page said`);
  // The job's chart draws the values the workers got, step by step.
  const drawn = await until(page, (got) => {
    const data = document.getElementById('job-chart').chart?.data;
    return data && Object.entries(got).every(([step, lr]) => data[1][data[0].indexOf(Number(step))] === lr);
  }, 2000, workersGot);
  check(drawn, `the job's chart differs from what the workers got: ` +
        JSON.stringify(await page.evaluate(() => document.getElementById('job-chart').chart?.data)) +
        ` vs ${JSON.stringify(workersGot)}`);
  await sleep(200);
  return screenshot(page, 'job');
}

// With --auth_tokens_file: the page asks for a token, a viewer sees the jobs
// but is refused an override (the server's PERMISSION_DENIED shown), an
// operator is not.
async function roles(browser) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lrsched-page-'));
  const tokens = {viewer: 'viewer-token-0123456789', operator: 'operator-token-0123456789'};
  fs.writeFileSync(path.join(dir, 'callers.yaml'), `callers:
  - {name: v, role: viewer, token: ${tokens.viewer}}
  - {name: o, role: operator, token: ${tokens.operator}}
`);
  const server = await startServer(binary, [`--auth_tokens_file=${path.join(dir, 'callers.yaml')}`]);
  const operator = {token: tokens.operator};
  await ok(server.base, 'CreateJob', {job_id: 'guarded', spec: {cosine_annealing_lr: {t_max: 50}},
                                      base_lrs: [0.1]}, operator);
  await ok(server.base, 'Step', {job_id: 'guarded', step: 0}, operator);
  const page = await browser.newPage();
  await page.setViewport({width: 1280, height: 900, deviceScaleFactor: 1});
  await page.goto(`${server.base}/#/jobs`, {waitUntil: 'load'});
  check(await until(page, () => /UNAUTHENTICATED/.test(document.getElementById('jobs-status').textContent),
                    3000), 'no token: the jobs page does not say UNAUTHENTICATED');
  const useToken = async (token) => {
    await setField(page, '#token', token);
    await page.keyboard.press('Enter');
  };
  await useToken(tokens.viewer);
  check(await until(page, () => document.querySelector('#jobs-table tbody a')?.textContent === 'guarded',
                    3000), 'a viewer does not see the job');
  await page.click('#jobs-table tbody a');
  check(await until(page, () => /Live/.test(document.getElementById('job-status').textContent), 10000),
        'a viewer cannot watch the job');
  await setField(page, '#override-value', '0.05');
  await page.click('#override-submit');
  check(await until(page, () => /PERMISSION_DENIED/.test(
      document.getElementById('override-status').textContent), 10000),
        'a viewer\'s override is not refused on the page');
  await useToken(tokens.operator);
  await page.goto(`${server.base}/#/job/guarded`, {waitUntil: 'load'});
  await until(page, () => /Live/.test(document.getElementById('job-status').textContent), 10000);
  await setField(page, '#override-value', '0.05');
  await page.click('#override-submit');
  const said = await until(page, () => /Takes effect at step (\d+)/.exec(
      document.getElementById('override-status').textContent)?.[1], 10000);
  check(said, 'an operator\'s override is not taken');
  const job = await ok(server.base, 'GetJob', {job_id: 'guarded'}, operator);
  check(job.overrides.length === 1 && job.overrides[0].effective_step === said.value,
        `the override recorded is ${JSON.stringify(job.overrides)}, not at step ${said.value}`);
  console.log(`  roles: no token refused, a viewer watches but may not override, an operator ` +
              `overrides from step ${said.value}`);
  await page.close();
  server.process.kill('SIGKILL');
  fs.rmSync(dir, {recursive: true, force: true});
}

(async () => {
  const started = Date.now();
  fs.mkdirSync(output, {recursive: true});
  const server = await startServer(binary);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'lrsched-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: chromium, headless: true, userDataDir: profile,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--hide-scrollbars'],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({width: 1280, height: 900, deviceScaleFactor: 1});
    const errors = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      // The refusals this test provokes are logged as failed loads (400).
      if (message.type() === 'error' &&
          !/WatchJob|ERR_ABORTED|status of 400/.test(message.text())) {
        errors.push(`console: ${message.text()}`);
      }
    });
    page.on('requestfailed', (request) => {
      if (!request.url().includes('WatchJob')) errors.push(`${request.url()} failed`);
    });
    page.on('request', (request) => {
      if (!request.url().startsWith(server.base)) errors.push(`asked ${request.url()}: off the server`);
    });
    await configurePage(page, server.base);
    await jobPage(page, server);
    await page.goto(`${server.base}/#/jobs`, {waitUntil: 'load'});
    check(await until(page, () => document.querySelector('#jobs-table tbody a')?.textContent === 'web-1',
                      3000), 'the jobs list does not show web-1');
    await screenshot(page, 'jobs');
    // Dark: the same job page, for the README; a picture of the right size.
    await page.emulateMediaFeatures([{name: 'prefers-color-scheme', value: 'dark'}]);
    await page.goto(`${server.base}/#/job/web-1`, {waitUntil: 'load'});
    await until(page, () => /Live/.test(document.getElementById('job-status').textContent), 10000);
    await sleep(300);
    await page.screenshot({path: path.join(output, 'job-dark.png')});
    check(errors.length === 0, `the page had errors: ${errors.join('; ')}`);
    await roles(browser);
  } finally {
    await browser.close();
    fs.rmSync(profile, {recursive: true, force: true});
  }
  console.log(`page_test: both pages checked in ${Date.now() - started} ms; screenshots in ${output}`);
  process.exit(0);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
