// Configure: the solver, base rates and schedule; the chart follows as you
// type (PreviewSchedule); then create the job, or copy what starts it.
'use strict';
(function () {
  const {SCHEDULERS, PRESETS} = window.lrschedSchedulers;
  const api = window.lrschedApi;
  const {$, el, numbers, debounce, color, setStatus, drawChart, valuesTable, clearErrors,
         showRefusal} = window.lrschedUi;
  const {exampleSpec, schedulerEditor, usesMetric, cyclesMomentum} = window.lrschedSpecs;
  const page = window.lrschedPage;

  // ------------------------------------------------------------ Configure

  const configure = page.configure;
  configure.spec = JSON.parse(JSON.stringify(PRESETS['warm-up then cosine']));
  const holder = {spec: configure.spec};

  function renderEditor() {
    const editor = $('spec-editor');
    editor.textContent = '';
    editor.append(schedulerEditor(holder, 'spec', 'spec', specChanged));
  }

  function fillPresets() {
    const select = $('preset');
    select.append(el('option', {value: '', text: '(keep the form)'}));
    for (const name of Object.keys(PRESETS)) select.append(el('option', {value: name, text: name}));
    for (const kind of Object.keys(SCHEDULERS)) {
      select.append(el('option', {value: `kind:${kind}`, text: SCHEDULERS[kind].title}));
    }
    select.addEventListener('change', () => {
      if (select.value === '') return;
      holder.spec = select.value.startsWith('kind:') ? exampleSpec(select.value.slice(5))
                                                     : JSON.parse(JSON.stringify(PRESETS[select.value]));
      select.value = '';
      renderEditor();
      specChanged();
    });
  }

  function baseLrs() {
    return numbers($('base_lrs').value);
  }

  // A metric curve for ReduceLROnPlateau: improving for `improve` steps,
  // then flat.
  function makeMetricCurve() {
    const steps = Number($('steps').value) || 100;
    const improve = Math.max(0, Number($('metric-improve').value) || 0);
    const values = [];
    for (let t = 0; t < steps; t++) {
      values.push(Number((t < improve ? 1 - 0.5 * t / Math.max(improve, 1) : 0.5).toFixed(4)));
    }
    $('metrics').value = values.join(', ');
  }

  function previewRequest() {
    const request = {spec: holder.spec, base_lrs: baseLrs(), steps: Number($('steps').value)};
    if (usesMetric(holder.spec)) request.metrics = numbers($('metrics').value);
    return request;
  }

  let previewSerial = 0;
  async function preview() {
    const form = $('spec-form');
    const status = $('preview-status');
    $('metric-field').hidden = !usesMetric(holder.spec);
    if ($('metric-field').hidden === false && $('metrics').value.trim() === '') makeMetricCurve();
    let request;
    try {
      request = previewRequest();
    } catch (bad) {
      setStatus(status, bad.message, 'error');
      return;
    }
    const serial = ++previewSerial;
    try {
      const response = await api.call('PreviewSchedule', request);
      if (serial !== previewSerial) return;
      clearErrors(form);
      configure.request = request;
      configure.response = response;
      drawPreview(request, response);
      setStatus(status, `${response.values.length} steps previewed`, 'ok');
    } catch (error) {
      if (serial !== previewSerial) return;
      clearErrors(form);
      configure.error = error;
      if (!showRefusal(form, error.message)) setStatus(status, error.message, 'error');
      else setStatus(status, 'The server refused the schedule: see the field marked.', 'error');
    }
    updateSnippets();
  }

  function drawPreview(request, response) {
    const groups = response.values.length ? response.values[0].lrs.length : 0;
    const steps = response.values.map((v) => Number(v.step));
    const data = [steps];
    const series = [];
    const labels = [];
    for (let g = 0; g < groups; g++) {
      data.push(response.values.map((v) => v.lrs[g]));
      series.push({label: `lr group ${g}`, stroke: color(`--series-${g % 5}`)});
      labels.push(`lr group ${g}`);
    }
    // Momentum (beta1 for Adam) where the schedule cycles it, on an axis of
    // its own, after the learning rates.
    const momentumName = $('solver').value === 'adam' ? 'beta1' : 'momentum';
    if (response.values.length && response.values[0].momentums.length && $('solver').value !== 'sgd') {
      for (let g = 0; g < groups; g++) {
        data.push(response.values.map((v) => v.momentums[g]));
        series.push({label: `${momentumName} group ${g}`, stroke: color('--momentum'), dash: [4, 4],
                     scale: 'm', axisLabel: momentumName});
        labels.push(`${momentumName} group ${g}`);
      }
    }
    configure.chartData = data;
    drawChart($('preview-chart'), data, series);
    valuesTable($('preview-table'), data, labels);
  }

  const specChanged = debounce(() => {
    configure.spec = holder.spec;
    preview();
  }, 150);

  // ------------------------------------------------------------ snippets

  function createRequest() {
    const request = {job_id: $('job_id').value.trim(), spec: holder.spec, base_lrs: baseLrs(),
                     world_size: Number($('world_size').value) || 1};
    if ($('aggregation').value !== 'WEIGHTED_MEAN') request.aggregation = $('aggregation').value;
    return request;
  }

  const shellQuote = (text) => `'${text.replace(/'/g, `'\\''`)}'`;
  // JSON as a Python literal: the spec's proto3 JSON form as a dict.
  const pythonLiteral = (value) => JSON.stringify(value).replace(/\btrue\b/g, 'True')
                                                        .replace(/\bfalse\b/g, 'False');

  function updateSnippets() {
    const container = $('snippets');
    let request;
    try {
      request = createRequest();
    } catch (bad) {
      return;
    }
    const server = `${location.hostname || 'localhost'}:50051`;
    const spec = JSON.stringify(request.spec);
    const solver = $('solver').value;
    const optimizer = {
      sgd: 'torch.optim.SGD(model.parameters(), lr=0.1)',
      momentum: 'torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)',
      adam: 'torch.optim.Adam(model.parameters(), lr=0.1)',
    }[solver];
    const metric = usesMetric(request.spec);
    const snippets = [
      ['CreateJob request (JSON)', JSON.stringify(request, null, 2)],
      ['lrschedctl', `lrschedctl --server=${server} create ${request.job_id} --spec=${shellQuote(spec)} ` +
                     `--base_lrs=${request.base_lrs.join(',')} --world_size=${request.world_size}` +
                     (request.aggregation ? ` --aggregation=${request.aggregation}` : '')],
      ['lrsched-trainer (every rank creates the job)',
       `mpirun -n ${request.world_size} lrsched-trainer --server=${server} --job=${request.job_id} ` +
       `--spec=${shellQuote(spec)} --solver=${solver} --base_lr=${request.base_lrs[0]}`],
      ['PyTorch (RemoteScheduler)',
       `import torch\nfrom lrsched.torch import RemoteScheduler\n\n` +
       `optimizer = ${optimizer}\n` +
       `scheduler = RemoteScheduler(optimizer, ${JSON.stringify(request.job_id)},\n` +
       `                            ${pythonLiteral(request.spec)},\n` +
       `                            server=${JSON.stringify(server)}, base_lrs=${JSON.stringify(request.base_lrs)})\n` +
       `for epoch in range(epochs):\n    train_one_epoch(model, optimizer)\n` +
       (metric ? `    scheduler.step(validate(model))  # this rank's validation loss\n`
               : `    scheduler.step()\n`)],
      ['Kubernetes sidecar Job (trainer.flags of deploy/k8s/overlays/sidecar)',
       `--spec=${spec}\n--base_lr=${request.base_lrs[0]}\n--solver=${solver}`],
    ];
    if (cyclesMomentum(request.spec) && solver === 'sgd') {
      snippets.unshift(['Note', 'This schedule cycles momentum: plain SGD has none (PyTorch refuses ' +
                                'cycle_momentum there). Choose SGD with momentum or Adam, or set ' +
                                'cycle_momentum to false.']);
    }
    container.textContent = '';
    snippets.forEach(([title, text], index) => {
      const id = `snippet-${index}`;
      const copy = el('button', {type: 'button', text: 'Copy', 'aria-label': `Copy: ${title}`});
      copy.addEventListener('click', async () => {
        try {
          await navigator.clipboard.writeText(text);
          copy.textContent = 'Copied';
        } catch (error) {
          const range = document.createRange();
          range.selectNodeContents($(id));
          getSelection().removeAllRanges();
          getSelection().addRange(range);
          copy.textContent = 'Selected: press Ctrl+C';
        }
        setTimeout(() => { copy.textContent = 'Copy'; }, 2000);
      });
      container.append(el('div', {class: 'snippet'},
                          el('div', {class: 'inline'}, el('strong', {text: title}), copy),
                          el('pre', {id, tabindex: 0, text})));
    });
  }

  async function createJob(event) {
    event.preventDefault();
    const status = $('create-status');
    const form = $('job-form');
    clearErrors(form);
    clearErrors($('spec-form'));
    let request;
    try {
      request = createRequest();
    } catch (bad) {
      setStatus(status, bad.message, 'error');
      return;
    }
    try {
      const job = await api.call('CreateJob', request);
      setStatus(status, `Created job ${job.job_id}.`, 'ok');
      location.hash = `#/job/${encodeURIComponent(job.job_id)}`;
    } catch (error) {
      const shown = showRefusal(form, error.message) || showRefusal($('spec-form'), error.message);
      setStatus(status, shown ? `${error.code}: see the field marked.` : `${error.code}: ${error.message}`,
                'error');
    }
  }

  function start() {
    fillPresets();
    renderEditor();
    for (const id of ['base_lrs', 'steps', 'metrics', 'solver']) {
      $(id).addEventListener('input', specChanged);
      $(id).addEventListener('change', specChanged);
    }
    for (const id of ['job_id', 'world_size', 'aggregation']) {
      $(id).addEventListener('input', updateSnippets);
      $(id).addEventListener('change', updateSnippets);
    }
    $('metric-make').addEventListener('click', () => {
      makeMetricCurve();
      specChanged();
    });
    $('job-form').addEventListener('submit', createJob);
  }

  window.lrschedConfigure = {start, show: preview};
})();
