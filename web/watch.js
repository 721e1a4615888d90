// Watch: every job (as `lrschedctl list`), and one job's page, live from
// WatchJob, where an operator can set or scale the learning rate.
'use strict';
(function () {
  const api = window.lrschedApi;
  const {$, el, numbers, color, setStatus, format, drawChart, valuesTable,
         clearErrors} = window.lrschedUi;
  const {usesMetric, schedulerName, cleanSpec} = window.lrschedSpecs;
  const page = window.lrschedPage;

  // ------------------------------------------------------------ the jobs

  async function loadJobs() {
    const status = $('jobs-status');
    const jobs = [];
    try {
      let token = '';
      do {
        const answer = await api.call('ListJobs', {page_size: 1000, page_token: token});
        jobs.push(...(answer.jobs || []));
        token = answer.next_page_token || '';
      } while (token);
    } catch (error) {
      setStatus(status, `${error.code}: ${error.message}`, 'error');
      return;
    }
    page.jobs = jobs;
    const body = $('jobs-table').querySelector('tbody');
    body.textContent = '';
    // The columns of `lrschedctl list`.
    for (const job of jobs) {
      const link = el('td', {}, el('a', {href: `#/job/${encodeURIComponent(job.job_id)}`,
                                         text: job.job_id}));
      if (job.damaged) {
        body.append(el('tr', {}, link, el('td', {colspan: 6, text: `DAMAGED: ${job.damaged}`})));
        continue;
      }
      const decided = Number(job.decided_step) >= Number(job.last_step) ||
                      Number(job.decided_step) >= 9007199254740991 ? 'all' : String(job.decided_step);
      body.append(el('tr', {}, link,
          el('td', {text: schedulerName(job.spec)}),
          el('td', {text: String(job.world_size)}),
          el('td', {text: decided}),
          el('td', {text: Number(job.handed_out_step) < 0 ? '-' : String(job.handed_out_step)}),
          el('td', {text: String(job.waiting_steps || 0)}),
          el('td', {text: job.latest ? job.latest.lrs.map(format).join(', ') : '-'})));
    }
    setStatus(status, `${jobs.length} job${jobs.length === 1 ? '' : 's'}`);
  }

  // ------------------------------------------------------------ one job

  const job = page.job;

  function openJob(jobId) {
    if (job.stop) job.stop();
    Object.assign(job, {id: jobId, events: [], workers: {}, stop: null, data: null, marks: []});
    $('job-title').textContent = `Job ${jobId}`;
    setStatus($('job-status'), 'Loading…');
    $('override-status').textContent = '';
    refreshJob().then(() => {
      if (job.id !== jobId) return;
      job.stop = api.watch(jobId, 1, (event) => {
        if (job.id !== jobId) return;
        job.events.push(event);
        noteWorker(event);
        refreshSoon();
      }, (state) => {
        if (job.id !== jobId) return;
        job.streamState = state instanceof Error ? `${state.code}: ${state.message}` : state;
        if (state === 'live') setStatus($('job-status'), 'Live: updates as the job changes.', 'ok');
        else if (state === 'reconnecting') setStatus($('job-status'), 'Reconnecting…');
        else if (state === 'ended') setStatus($('job-status'), 'The job was deleted.', 'error');
        else setStatus($('job-status'), job.streamState, 'error');
      });
    });
  }

  // Workers' progress from the events, where the job has no worker_steps.
  function noteWorker(event) {
    const note = (rank, step, field) => {
      const worker = job.workers[rank] || (job.workers[rank] = {});
      worker[field] = Math.max(worker[field] ?? -1, Number(step));
    };
    if (event.step_requested) note(event.step_requested.rank || 0, event.step_requested.step, 'asked');
    if (event.metric_reported) {
      note(event.metric_reported.rank || 0, event.metric_reported.step, 'reported');
      note(event.metric_reported.rank || 0, event.metric_reported.step, 'asked');
    }
  }

  let refreshTimer = null;
  function refreshSoon() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      refreshJob();
    }, 50);
  }

  let refreshing = false;
  let refreshAgain = false;
  async function refreshJob() {
    if (refreshing) {
      refreshAgain = true;
      return;
    }
    refreshing = true;
    const jobId = job.id;
    try {
      const data = await api.call('GetJob', {job_id: jobId, view: 'JOB_VIEW_FULL'});
      if (job.id !== jobId) return;
      job.data = data;
      await drawJob(data);
    } catch (error) {
      if (job.id === jobId) setStatus($('job-status'), `${error.code}: ${error.message}`, 'error');
    } finally {
      refreshing = false;
      if (refreshAgain) {
        refreshAgain = false;
        refreshJob();
      }
    }
  }

  // The job's learning rates over steps 0..handed_out_step. Every value the
  // server told (a decision's rates of the next step, the latest handed-out
  // step, an override's rates) is used as told; the steps in between come
  // from PreviewSchedule of the job's spec with its aggregated metrics (the
  // same math, so the same values), up to the first override: after one,
  // only the told values are drawn.
  async function jobValues(data) {
    const last = Number(data.handed_out_step);
    const groups = data.base_lrs.length;
    const told = new Map();
    for (const metric of data.metric_history || []) told.set(Number(metric.step) + 1, metric.lrs);
    if (data.latest) told.set(Number(data.latest.step), data.latest.lrs);
    const overrides = data.overrides || [];
    const firstOverride = overrides.length ? Math.min(...overrides.map((o) => Number(o.effective_step)))
                                           : Infinity;
    let previewed = [];
    if (last >= 0) {
      const metrics = new Map((data.metric_history || []).map((m) => [Number(m.step), m.value]));
      const usable = Math.min(last, firstOverride - 1, 100000);
      const request = {spec: data.spec, base_lrs: data.base_lrs, steps: Math.max(usable, 0)};
      if (usesMetric(data.spec)) {
        // With the whole history at hand, a step without an aggregate is a
        // warm-up step, whose metric is unused; otherwise the preview stops
        // at the first metric it does not know.
        const complete = !data.more_metric_history && Number(data.first_retained_step) === 0;
        request.metrics = [];
        for (let t = 0; t < request.steps; t++) {
          if (!metrics.has(t) && !(complete && t < firstAggregated(data))) {
            request.steps = t;
            break;
          }
          request.metrics.push(metrics.has(t) ? metrics.get(t) : 0);
        }
      }
      try {
        if (usable >= 0) previewed = (await api.call('PreviewSchedule', request)).values;
      } catch (error) {
        previewed = [];
      }
    }
    const first = Number(data.first_retained_step || 0);
    const steps = [];
    const series = Array.from({length: groups}, () => []);
    for (let step = first; step <= last; step++) {
      const lrs = told.get(step) || (previewed[step] ? previewed[step].lrs : null);
      steps.push(step);
      for (let g = 0; g < groups; g++) series[g].push(lrs ? lrs[g] : null);
    }
    return [steps, ...series];
  }

  function firstAggregated(data) {
    const history = data.metric_history || [];
    return history.length ? Number(history[0].step) : Number(data.decided_step);
  }
  function describeOverride(override) {
    const change = override.lrs ? `set to ${override.lrs.values.map(format).join(', ')}`
                                : `× ${format(override.factor)}`;
    const mode = override.mode === 'SCALE_SCHEDULE' ? ' (the rest of the schedule scaled)' : '';
    return `override: ${change}${mode}, asked for step ${override.requested_step}, ` +
           `effective at step ${override.effective_step}`;
  }

  async function drawJob(data) {
    const summary = $('job-summary');
    summary.textContent = '';
    const item = (term, value) => summary.append(el('dt', {text: term}), el('dd', {text: value}));
    item('Scheduler', schedulerName(data.spec));
    item('Spec', JSON.stringify(cleanSpec(data.spec)));
    item('Base learning rates', data.base_lrs.map(format).join(', '));
    item('Workers', String(data.world_size));
    item('Handed out up to step', String(data.handed_out_step));
    item('Decided up to step', String(data.decided_step));
    item('Learning rates now', data.latest ? `${data.latest.lrs.map(format).join(', ')} (step ${data.latest.step})` : '-');
    item('Events', String(data.last_sequence));
    if (data.damaged) item('Damaged', data.damaged);

    const marks = [];
    for (const metric of data.metric_history || []) {
      if (!metric.reduced) continue;
      const plateau = metric.plateau || {};
      marks.push({step: Number(metric.step) + 1, kind: 'reduce',
                  text: `plateau reduction: from step ${Number(metric.step) + 1} to ` +
                        `${metric.lrs.map(format).join(', ')}, since the metric ${format(metric.value)} ` +
                        `of step ${metric.step} did not improve on the best ${format(plateau.best)} ` +
                        `for more than patience steps`});
    }
    for (const override of data.overrides || []) {
      marks.push({step: Number(override.effective_step), kind: 'override', text: describeOverride(override)});
    }
    marks.sort((a, b) => a.step - b.step);
    job.marks = marks;
    const list = $('job-marks');
    list.textContent = '';
    for (const mark of marks) list.append(el('li', {class: mark.kind, text: `step ${mark.step}: ${mark.text}`}));
    if (!marks.length) list.append(el('li', {text: 'none yet'}));

    const values = await jobValues(data);
    job.chartData = values;
    const groups = data.base_lrs.length;
    const series = [];
    const labels = [];
    for (let g = 0; g < groups; g++) {
      series.push({label: `lr group ${g}`, stroke: color(`--series-${g % 5}`)});
      labels.push(`lr group ${g}`);
    }
    if (values[0].length) {
      drawChart($('job-chart'), values, series, {marks});
    } else {
      $('job-chart').textContent = 'No step handed out yet.';
    }
    const history = data.metric_history || [];
    job.metricData = [history.map((m) => Number(m.step)), history.map((m) => m.value)];
    $('metric-figure').hidden = history.length === 0;
    if (history.length) {
      drawChart($('metric-chart'), job.metricData,
                [{label: 'aggregated metric', stroke: color('--metric')}],
                {marks: marks.map((m) => ({...m, step: m.kind === 'reduce' ? m.step - 1 : m.step})),
                 yLabel: 'metric'});
    }
    valuesTable($('job-table'), values, labels);

    const workers = $('workers-table').querySelector('tbody');
    workers.textContent = '';
    const steps = data.worker_steps || [];
    const ranks = Math.max(data.world_size, steps.length, Object.keys(job.workers).length);
    for (let rank = 0; rank < ranks; rank++) {
      const known = job.workers[rank] || {};
      const asked = steps.length ? Number(steps[rank] ?? -1) : (known.asked ?? -1);
      workers.append(el('tr', {},
          el('td', {text: String(rank)}),
          el('td', {text: asked >= 0 ? String(asked) : '-'}),
          el('td', {text: known.reported !== undefined ? String(known.reported) : '-'})));
    }
    if (!$('override-value').value && data.latest) $('override-value').value = data.latest.lrs.join(', ');
  }

  async function applyOverride(event) {
    event.preventDefault();
    const form = $('override-form');
    const status = $('override-status');
    clearErrors(form);
    const mode = $('override-mode').value;
    const request = {job_id: job.id, step: Number($('override-step').value) || 0};
    try {
      const values = numbers($('override-value').value);
      if (mode === 'lrs') request.lrs = {values};
      else request.factor = values[0];
      if (mode === 'scale') request.mode = 'SCALE_SCHEDULE';
    } catch (bad) {
      form.querySelector('[data-path="override-value"] .error').textContent = bad.message;
      return;
    }
    try {
      const answer = await api.call('SetLearningRate', request);
      job.lastOverride = answer.override;
      setStatus(status, `Takes effect at step ${answer.override.effective_step} ` +
                        `(asked for step ${answer.override.requested_step}).`, 'ok');
      refreshSoon();
    } catch (error) {
      const field = /factor|lrs|values/.test(error.message) ? 'override-value'
                  : /step/.test(error.message) ? 'override-step' : null;
      if (field) {
        form.querySelector(`[data-path="${field}"] .error`).textContent = error.message;
        $(field).setAttribute('aria-invalid', 'true');
      }
      setStatus(status, `${error.code}: ${error.message}`, 'error');
    }
  }

  function start() {
    $('override-form').addEventListener('submit', applyOverride);
    $('jobs-refresh').addEventListener('click', loadJobs);
  }

  function stop() {
    if (job.stop) job.stop();
  }

  window.lrschedWatch = {start, stop, loadJobs, openJob};
})();
