// The schedule's part of the form: an editor of a SchedulerSpec (any of the
// 13 schedulers, composites holding editors of their own), and what the
// other parts ask of a spec.
'use strict';
(function () {
  const {SCHEDULERS} = window.lrschedSchedulers;
  const {el, numbers, format} = window.lrschedUi;

  // ------------------------------------------------------------ the spec editor

  const SIMPLE = Object.keys(SCHEDULERS).filter((kind) => !SCHEDULERS[kind].composite);

  function kindOf(spec) {
    return Object.keys(spec)[0];
  }

  function exampleSpec(kind) {
    const params = {};
    for (const param of SCHEDULERS[kind].params) {
      if (param.example !== undefined) params[param.name] = param.example;
    }
    if (kind === 'sequential_lr') {
      return {sequential_lr: {schedulers: [{linear_lr: {start_factor: 0.1, total_iters: 5}},
                                           {cosine_annealing_lr: {t_max: 95}}],
                              milestones: [5]}};
    }
    if (kind === 'chained_scheduler') {
      return {chained_scheduler: {schedulers: [{constant_lr: {}}, {exponential_lr: {gamma: 0.97}}]}};
    }
    return {[kind]: params};
  }

  function paramText(param, value) {
    if (value === undefined) return '';
    if (Array.isArray(value)) return value.join(', ');
    return String(value);
  }

  function defaultText(param) {
    if (param.required) return 'required';
    if (param.defText) return `default ${param.defText}`;
    if (param.def !== undefined) return `default ${param.def}`;
    return 'optional';
  }

  // One parameter's field; `set(value)` stores its value (undefined: unset).
  function paramField(param, value, path, set) {
    const id = `p-${path}`.replace(/[^A-Za-z0-9_-]/g, '-');
    const hint = [defaultText(param), param.rule].filter(Boolean).join('; ');
    const hintId = `${id}-hint`;
    const errorId = `${id}-error`;
    let input;
    if (param.kind === 'enum' || param.kind === 'bool') {
      const choices = param.kind === 'bool' ? ['true', 'false'] : param.options;
      input = el('select', {id, 'aria-describedby': `${hintId} ${errorId}`},
                 el('option', {value: '', text: `(default: ${param.def})`}),
                 choices.map((choice) => el('option', {value: choice, text: choice,
                                                        selected: String(value) === choice})));
      input.addEventListener('change', () => {
        if (input.value === '') set(undefined);
        else set(param.kind === 'bool' ? input.value === 'true' : input.value);
      });
    } else {
      input = el('input', {id, value: paramText(param, value), inputmode: 'decimal',
                           'aria-describedby': `${hintId} ${errorId}`,
                           placeholder: param.def !== undefined ? String(format(param.def)) : ''});
      input.addEventListener('input', () => {
        const error = input.parentNode.querySelector('.error');
        const text = input.value.trim();
        try {
          if (text === '') {
            set(undefined);
          } else if (param.kind === 'reals' || param.kind === 'ints') {
            set(numbers(text));
          } else {
            const [number] = numbers(text);
            set(number);
          }
          error.textContent = '';
          input.removeAttribute('aria-invalid');
        } catch (bad) {
          error.textContent = `${param.name}: ${bad.message}`;
          input.setAttribute('aria-invalid', 'true');
        }
      });
    }
    return el('div', {class: 'field', 'data-path': path},
              el('label', {for: id, text: param.name}), input,
              el('span', {class: 'hint', id: hintId, text: hint}),
              el('span', {class: 'error', id: errorId, role: 'alert'}));
  }

  // The editor of `holder[key]` (a SchedulerSpec) at `path`; `onChange` after
  // every edit; `inside` the composite it is part of, if any.
  function schedulerEditor(holder, key, path, onChange, inside) {
    const box = el('div', {class: 'scheduler'});
    function render() {
      const spec = holder[key];
      const kind = kindOf(spec);
      const info = SCHEDULERS[kind];
      const id = `k-${path}`.replace(/[^A-Za-z0-9_-]/g, '-');
      const kinds = inside ? SIMPLE.filter((k) => k !== 'reduce_lr_on_plateau' ||
                                                  inside === 'sequential_lr')
                           : Object.keys(SCHEDULERS);
      const select = el('select', {id},
                        kinds.map((k) => el('option', {value: k, text: SCHEDULERS[k].title,
                                                       selected: k === kind})));
      select.addEventListener('change', () => {
        holder[key] = exampleSpec(select.value);
        render();
        onChange();
      });
      box.textContent = '';
      box.append(el('div', {class: 'field', 'data-path': path},
                    el('label', {for: id, text: inside ? 'Scheduler' : 'Scheduler class'}), select,
                    el('span', {class: 'error', role: 'alert'})),
                 el('p', {class: 'about', text: info.about}));
      const params = spec[kind];
      for (const param of info.params) {
        box.append(paramField(param, params[param.name], `${path}.${kind}.${param.name}`,
                              (value) => {
                                if (value === undefined) delete params[param.name];
                                else params[param.name] = value;
                                onChange();
                              }));
      }
      if (info.composite) {
        params.schedulers = params.schedulers || [];
        const children = el('div', {class: 'children'});
        params.schedulers.forEach((child, index) => {
          const remove = el('button', {type: 'button', text: 'Remove',
                                       'aria-label': `Remove scheduler ${index + 1}`});
          remove.addEventListener('click', () => {
            params.schedulers.splice(index, 1);
            render();
            onChange();
          });
          children.append(el('div', {class: 'child'},
                             el('div', {class: 'inline'}, el('strong', {text: `${index + 1}.`}), remove),
                             schedulerEditor(params.schedulers, index,
                                             `${path}.${kind}.schedulers[${index}]`, onChange, kind)));
        });
        const add = el('button', {type: 'button', text: 'Add a scheduler'});
        add.addEventListener('click', () => {
          params.schedulers.push({constant_lr: {}});
          render();
          onChange();
        });
        box.append(el('div', {class: 'field', 'data-path': `${path}.${kind}.schedulers`},
                      el('span', {class: 'label', text: 'schedulers'}), children, add,
                      el('span', {class: 'error', role: 'alert'})));
      }
    }
    render();
    return box;
  }

  function usesMetric(spec) {
    const kind = kindOf(spec);
    if (SCHEDULERS[kind].metric) return true;
    return SCHEDULERS[kind].composite && (spec[kind].schedulers || []).some(usesMetric);
  }

  function cyclesMomentum(spec) {
    const kind = kindOf(spec);
    if (SCHEDULERS[kind].momentum) return spec[kind].cycle_momentum !== false;
    return SCHEDULERS[kind].composite && (spec[kind].schedulers || []).some(cyclesMomentum);
  }

  function schedulerName(spec) {
    if (!spec) return '';
    const kind = kindOf(spec);
    const info = SCHEDULERS[kind];
    if (!info) return kind;
    if (info.composite) {
      return `${info.title}(${(spec[kind].schedulers || []).map(schedulerName).join(', ')})`;
    }
    return info.title;
  }

  // A spec as the server answers it (every field printed) without the
  // fields left at their defaults: empty lists, *_UNSPECIFIED enums.
  function cleanSpec(value) {
    if (Array.isArray(value)) return value.map(cleanSpec);
    if (value === null || typeof value !== 'object') return value;
    const out = {};
    for (const [key, field] of Object.entries(value)) {
      if (Array.isArray(field) && field.length === 0) continue;
      if (typeof field === 'string' && field.endsWith('_UNSPECIFIED')) continue;
      out[key] = cleanSpec(field);
    }
    return out;
  }

  window.lrschedSpecs = {kindOf, exampleSpec, schedulerEditor, usesMetric, cyclesMomentum,
                         schedulerName, cleanSpec};
})();
