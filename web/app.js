// lrsched's page: Configure (a schedule's chart from PreviewSchedule as you
// type, then create the job or copy what starts it) and Watch (every job,
// and one job live from WatchJob). The server decides everything: the page
// shows its answers and its refusals, beside the field they name. This file
// routes between the views (#/configure, #/jobs, #/job/ID) and keeps the
// caller's token.
'use strict';
(function () {
  const api = window.lrschedApi;
  const {$} = window.lrschedUi;
  const configure = window.lrschedConfigure;
  const watch = window.lrschedWatch;

  function route() {
    const hash = location.hash || '#/configure';
    const [, view, id] = /^#\/([a-z]+)(?:\/(.*))?$/.exec(hash) || [null, 'configure'];
    for (const section of ['configure', 'jobs', 'job']) $(section).hidden = true;
    $('nav-configure').removeAttribute('aria-current');
    $('nav-jobs').removeAttribute('aria-current');
    if (view === 'job' && id) {
      $('job').hidden = false;
      $('nav-jobs').setAttribute('aria-current', 'page');
      watch.openJob(decodeURIComponent(id));
    } else if (view === 'jobs') {
      watch.stop();
      $('jobs').hidden = false;
      $('nav-jobs').setAttribute('aria-current', 'page');
      watch.loadJobs();
    } else {
      watch.stop();
      $('configure').hidden = false;
      $('nav-configure').setAttribute('aria-current', 'page');
      configure.show();
    }
  }

  $('token').value = api.token();
  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    api.setToken($('token').value.trim());
    route();
  });
  configure.start();
  watch.start();
  window.addEventListener('hashchange', route);
  // The charts take their colours from the theme: drawn again when it changes.
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', route);
  route();
})();
