// The 13 schedulers as the form shows them: PyTorch's parameter names (the
// API's snake_case), their defaults and rules as proto/lrsched/v1/
// scheduler_spec.proto documents them. Only for showing and for building
// the spec: the server alone decides what is valid, and the page shows its
// refusals beside the field they name.
'use strict';
(function () {
  // kind: int, real, bool, enum, reals (one, or one per group), ints.
  const p = (name, kind, info = {}) => ({name, kind, ...info});
  const SCHEDULERS = {
    step_lr: {
      title: 'StepLR', about: 'Multiplies the learning rate by gamma every step_size steps.',
      params: [p('step_size', 'int', {required: true, example: 30, rule: 'at least 1'}),
               p('gamma', 'real', {def: 0.1, rule: 'finite, at least 0'})]},
    multi_step_lr: {
      title: 'MultiStepLR', about: 'Multiplies the learning rate by gamma at each milestone.',
      params: [p('milestones', 'ints', {example: [30, 80], rule: 'steps, each at least 0'}),
               p('gamma', 'real', {def: 0.1, rule: 'finite, at least 0'})]},
    exponential_lr: {
      title: 'ExponentialLR', about: 'Multiplies the learning rate by gamma every step.',
      params: [p('gamma', 'real', {required: true, example: 0.95, rule: 'finite, at least 0'})]},
    cosine_annealing_lr: {
      title: 'CosineAnnealingLR',
      about: 'Cosine annealing from the base rate to eta_min over t_max steps (rises again ' +
             'after t_max, as in PyTorch).',
      params: [p('t_max', 'int', {required: true, example: 100, rule: 'at least 1'}),
               p('eta_min', 'real', {def: 0, rule: 'finite'})]},
    cyclic_lr: {
      title: 'CyclicLR',
      about: 'Cycles the learning rate (and momentum) between base_lr and max_lr; replaces ' +
             'the optimizer\'s rate by base_lr.',
      momentum: true,
      params: [p('base_lr', 'reals', {required: true, example: [0.001], rule: 'finite, at least 0'}),
               p('max_lr', 'reals', {required: true, example: [0.1], rule: 'finite, at least 0'}),
               p('step_size_up', 'real', {def: 2000, example: 20,
                                          rule: 'greater than 0, may be fractional'}),
               p('step_size_down', 'real', {defText: 'step_size_up', rule: 'at least 0'}),
               p('mode', 'enum', {options: ['TRIANGULAR', 'TRIANGULAR2', 'EXP_RANGE'],
                                  def: 'TRIANGULAR'}),
               p('gamma', 'real', {def: 1, rule: 'finite, greater than 0 (EXP_RANGE)'}),
               p('cycle_momentum', 'bool', {def: true, rule: 'needs a solver with momentum'}),
               p('base_momentum', 'reals', {def: 0.8, rule: 'finite'}),
               p('max_momentum', 'reals', {def: 0.9, rule: 'finite'})]},
    reduce_lr_on_plateau: {
      title: 'ReduceLROnPlateau',
      about: 'Reduces the learning rate when the aggregated metric stops improving: the metric ' +
             'of step t decides the rate of step t + 1.',
      metric: true,
      params: [p('mode', 'enum', {options: ['MIN', 'MAX'], def: 'MIN'}),
               p('factor', 'real', {def: 0.1, rule: 'at least 0, less than 1'}),
               p('patience', 'int', {def: 10, rule: 'at least 0'}),
               p('threshold', 'real', {def: 1e-4, rule: 'finite, at least 0'}),
               p('threshold_mode', 'enum', {options: ['REL', 'ABS'], def: 'REL'}),
               p('cooldown', 'int', {def: 0, rule: 'at least 0'}),
               p('min_lr', 'reals', {def: 0, rule: 'finite, at least 0'}),
               p('eps', 'real', {def: 1e-8, rule: 'finite, at least 0'})]},
    linear_lr: {
      title: 'LinearLR',
      about: 'Multiplies the rate by a factor moving linearly from start_factor to end_factor ' +
             'over total_iters steps (a linear warm-up).',
      params: [p('start_factor', 'real', {def: 1 / 3, defText: '1/3',
                                          rule: 'greater than 0, at most 1'}),
               p('end_factor', 'real', {def: 1, rule: 'at least 0, at most 1'}),
               p('total_iters', 'int', {def: 5, rule: 'at least 0'})]},
    constant_lr: {
      title: 'ConstantLR', about: 'Multiplies the rate by factor until step total_iters.',
      params: [p('factor', 'real', {def: 1 / 3, defText: '1/3', rule: 'greater than 0, at most 1'}),
               p('total_iters', 'int', {def: 5, rule: 'at least 0'})]},
    polynomial_lr: {
      title: 'PolynomialLR', about: 'Polynomial decay to 0 over total_iters steps.',
      params: [p('total_iters', 'int', {def: 5, rule: 'at least 0'}),
               p('power', 'real', {def: 1, rule: 'finite, at least 0'})]},
    one_cycle_lr: {
      title: 'OneCycleLR',
      about: 'The 1cycle policy; replaces the optimizer\'s rate by max_lr / div_factor.',
      momentum: true,
      params: [p('max_lr', 'reals', {required: true, example: [0.1], rule: 'finite, at least 0'}),
               p('total_steps', 'int', {example: 100,
                                        rule: 'or epochs and steps_per_epoch'}),
               p('epochs', 'int', {rule: 'with steps_per_epoch'}),
               p('steps_per_epoch', 'int', {rule: 'with epochs'}),
               p('pct_start', 'real', {def: 0.3, rule: 'in [0, 1]'}),
               p('anneal_strategy', 'enum', {options: ['COS', 'LINEAR'], def: 'COS'}),
               p('cycle_momentum', 'bool', {def: true, rule: 'needs a solver with momentum'}),
               p('base_momentum', 'reals', {def: 0.85, rule: 'finite'}),
               p('max_momentum', 'reals', {def: 0.95, rule: 'finite'}),
               p('div_factor', 'real', {def: 25, rule: 'finite, greater than 0'}),
               p('final_div_factor', 'real', {def: 1e4, rule: 'finite, greater than 0'}),
               p('three_phase', 'bool', {def: false})]},
    cosine_annealing_warm_restarts: {
      title: 'CosineAnnealingWarmRestarts',
      about: 'Cosine annealing with warm restarts every t_0 * t_mult**i steps.',
      params: [p('t_0', 'int', {required: true, example: 10, rule: 'at least 1'}),
               p('t_mult', 'int', {def: 1, rule: 'at least 1'}),
               p('eta_min', 'real', {def: 0, rule: 'finite'})]},
    sequential_lr: {
      title: 'SequentialLR',
      about: 'Runs schedulers one after another, switching at the milestones; the last may be ' +
             'ReduceLROnPlateau (a warm-up, then reduce on plateau).',
      composite: true,
      params: [p('milestones', 'ints', {required: true, example: [5],
                                        rule: 'one fewer than schedulers, increasing, each at least 1'})]},
    chained_scheduler: {
      title: 'ChainedScheduler',
      about: 'Steps every scheduler on each step, so that their factors compose.',
      composite: true, params: []},
  };

  // Ready-made specs: the composites the document's users ask for first.
  const PRESETS = {
    'warm-up then plateau': {sequential_lr: {
      schedulers: [{linear_lr: {start_factor: 0.1, total_iters: 5}},
                   {reduce_lr_on_plateau: {patience: 3, factor: 0.5}}],
      milestones: [5]}},
    'warm-up then cosine': {sequential_lr: {
      schedulers: [{linear_lr: {start_factor: 0.1, total_iters: 10}},
                   {cosine_annealing_lr: {t_max: 90}}],
      milestones: [10]}},
  };

  window.lrschedSchedulers = {SCHEDULERS, PRESETS};
})();
