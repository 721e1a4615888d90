// What every part of lrsched's page uses: small DOM helpers, the charts
// (uPlot), the values as a table, and a refusal of the server shown beside
// the field it names. window.lrschedPage holds what the page shows (the
// charts' data, the job as last read), for the browser tests and for anyone
// curious.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  window.lrschedPage = {configure: {}, job: {}, jobs: []};

  // ------------------------------------------------------------ helpers

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'text') node.textContent = value;
      else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? '' : value);
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined) {
        node.append(typeof child === 'string' ? document.createTextNode(child) : child);
      }
    }
    return node;
  }

  // Numbers as typed: "0.1, 0.01" -> [0.1, 0.01]; throws naming the bad one.
  function numbers(text) {
    const parts = text.split(/[\s,]+/).filter((part) => part !== '');
    return parts.map((part) => {
      const value = Number(part);
      if (part.toLowerCase() === 'nan') return 'NaN';
      if (!Number.isFinite(value) && !/^[-+]?inf/i.test(part)) {
        throw new Error(`"${part}" is not a number`);
      }
      return Number.isFinite(value) ? value : (value > 0 ? 'Infinity' : '-Infinity');
    });
  }

  function debounce(fn, ms) {
    let timer = null;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), ms);
    };
  }

  function color(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function setStatus(node, text, kind = '') {
    node.textContent = text;
    node.className = `status ${kind}`;
  }

  const format = (value) => (typeof value === 'number' ? Number(value.toPrecision(6)) : value);

  // ------------------------------------------------------------ charts

  // A uPlot chart in `container`: `data` is [steps, ...series], `series`
  // their {label, stroke, dash}; `marks` [{step, kind, text}] are drawn as
  // vertical lines. Replaces the chart drawn there before.
  function drawChart(container, data, series, {marks = [], yLabel = 'learning rate', log = false} = {}) {
    if (container.chart) container.chart.destroy();
    const width = Math.max(container.clientWidth, 320);
    const axis = {stroke: color('--fg'), grid: {stroke: color('--grid')}, ticks: {stroke: color('--grid')}};
    const options = {
      width, height: 320,
      scales: {x: {time: false}, y: log ? {distr: 3} : {}},
      legend: {live: true},
      series: [{label: 'step'}, ...series.map((s) => ({
        label: s.label, stroke: s.stroke, width: 2, dash: s.dash, spanGaps: false,
        scale: s.scale || 'y', points: {show: data[0].length < 60},
      }))],
      axes: [{...axis, label: 'step'}, {...axis, label: yLabel, size: 70,
                                         values: (u, values) => values.map(format)}],
      hooks: {draw: [(u) => {
        const context = u.ctx;
        context.save();
        for (const mark of marks) {
          const x = u.valToPos(mark.step, 'x', true);
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          context.strokeStyle = color(mark.kind === 'reduce' ? '--mark-reduce' : '--mark-override');
          context.fillStyle = context.strokeStyle;
          context.lineWidth = 2 * devicePixelRatio;
          context.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
          context.beginPath();
          context.moveTo(x, u.bbox.top);
          context.lineTo(x, u.bbox.top + u.bbox.height);
          context.stroke();
          context.font = `${12 * devicePixelRatio}px system-ui`;
          context.fillText(mark.kind === 'reduce' ? '▼' : '◆', x + 3, u.bbox.top + 14 * devicePixelRatio);
        }
        context.restore();
      }]},
    };
    const second = series.find((s) => s.scale === 'm');
    if (second) {
      options.scales.m = {};
      options.axes.push({...axis, scale: 'm', side: 1, label: second.axisLabel, size: 60,
                         grid: {show: false}, values: (u, values) => values.map(format)});
    }
    container.textContent = '';
    container.chart = new uPlot(options, data, container);
    return container.chart;
  }

  // The values as a table (the charts' text alternative).
  function valuesTable(container, data, labels) {
    const rows = data[0].map((step, i) => el('tr', {},
        el('th', {scope: 'row', text: String(step)}),
        ...data.slice(1).map((column) => el('td', {text: column[i] === null || column[i] === undefined
                                                       ? '' : String(column[i])}))));
    container.textContent = '';
    container.append(el('table', {},
        el('thead', {}, el('tr', {}, el('th', {scope: 'col', text: 'step'}),
                           ...labels.map((label) => el('th', {scope: 'col', text: label})))),
        el('tbody', {}, rows)));
  }

  // ------------------------------------------------------------ refusals beside their field

  // Clears every field's refusal under `root`.
  function clearErrors(root) {
    for (const node of root.querySelectorAll('.field .error')) node.textContent = '';
    for (const node of root.querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid');
  }

  // Shows `message` beside the field it names ("spec.cyclic_lr.max_lr[1]:
  // ..."): the field whose data-path is the longest prefix of that path.
  // Returns whether a field was found.
  function showRefusal(root, message, prefix = '') {
    const match = /^([A-Za-z0-9_.\[\]]+): /.exec(message);
    if (!match) return false;
    let path = match[1];
    if (prefix && path.startsWith(prefix)) path = path.slice(prefix.length);
    for (;;) {
      const field = root.querySelector(`.field[data-path="${CSS.escape(path)}"]`);
      if (field) {
        const error = field.querySelector('.error');
        error.textContent = message;
        const input = field.querySelector('input, textarea, select');
        if (input) input.setAttribute('aria-invalid', 'true');
        return true;
      }
      const shorter = path.replace(/(\[\d+\]|\.[^.\[\]]+)$/, '');
      if (shorter === path || shorter === '') return false;
      path = shorter;
    }
  }

  window.lrschedUi = {$, el, numbers, debounce, color, setStatus, format, drawChart, valuesTable,
                      clearErrors, showRefusal};
})();
