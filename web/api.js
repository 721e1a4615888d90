// The page's way to the server: the JSON API (POST /api/v1/RPC) and
// WatchJob's Server-Sent Events, read with fetch so that the caller's token
// travels as an Authorization header (EventSource cannot send one). The
// token is kept for the browser tab only (sessionStorage).
'use strict';
(function () {
  const TOKEN_KEY = 'lrsched.token';

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  function headers() {
    const token = sessionStorage.getItem(TOKEN_KEY);
    return token ? {Authorization: `Bearer ${token}`} : {};
  }

  // Resolves with the response message; rejects with an ApiError carrying
  // the server's code and message.
  async function call(rpc, request) {
    let response;
    try {
      response = await fetch(`api/v1/${rpc}`, {
        method: 'POST',
        headers: {'Content-Type': 'application/json', ...headers()},
        body: JSON.stringify(request)});
    } catch (error) {
      throw new ApiError(0, 'UNAVAILABLE', `the server cannot be reached: ${error.message}`);
    }
    const text = await response.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new ApiError(response.status, 'UNKNOWN', text || response.statusText);
    }
    if (!response.ok) throw new ApiError(response.status, body.code, body.message);
    return body;
  }

  // Follows a job's events from `fromSequence` on: onEvent(JobEvent) for
  // each, onState('live' | 'reconnecting' | 'ended' | ApiError) as the
  // stream goes. Reconnects after a dropped connection from the event after
  // the last one seen. Returns a function that stops it.
  function watch(jobId, fromSequence, onEvent, onState) {
    let stopped = false;
    let next = fromSequence;
    let controller = null;
    async function run() {
      while (!stopped) {
        controller = new AbortController();
        let response;
        try {
          response = await fetch(
              `api/v1/WatchJob?job_id=${encodeURIComponent(jobId)}&from_sequence=${next}`,
              {headers: headers(), signal: controller.signal});
        } catch (error) {
          if (stopped) return;
          onState('reconnecting');
          await new Promise((resolve) => setTimeout(resolve, 1000));
          continue;
        }
        if (!response.ok) {
          const body = await response.json().catch(() => ({}));
          onState(new ApiError(response.status, body.code, body.message));
          return;
        }
        onState('live');
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = '';
        try {
          for (;;) {
            const {value, done} = await reader.read();
            if (done) break;
            buffer += decoder.decode(value, {stream: true});
            let end;
            while ((end = buffer.indexOf('\n\n')) >= 0) {
              const block = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              let name = 'message';
              let data = null;
              for (const line of block.split('\n')) {
                if (line.startsWith('event:')) name = line.slice(6).trim();
                if (line.startsWith('data:')) data = line.slice(5).trim();
              }
              if (data === null) continue;
              if (name === 'end') {
                onState('ended');
                return;
              }
              const parsed = JSON.parse(data);
              if (name === 'error') {
                onState(new ApiError(0, parsed.code, parsed.message));
                // A restart (CANCELLED, UNAVAILABLE) or a reader that fell
                // behind (RESOURCE_EXHAUSTED) resumes after the last event.
                if (!['CANCELLED', 'UNAVAILABLE', 'RESOURCE_EXHAUSTED'].includes(parsed.code)) return;
                break;
              }
              next = Number(parsed.sequence) + 1;
              onEvent(parsed);
            }
          }
        } catch (error) {
          if (stopped) return;
        }
        if (stopped) return;
        onState('reconnecting');
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    run();
    return () => {
      stopped = true;
      if (controller) controller.abort();
    };
  }

  window.lrschedApi = {
    call, watch, ApiError,
    token: () => sessionStorage.getItem(TOKEN_KEY) || '',
    setToken: (token) => token ? sessionStorage.setItem(TOKEN_KEY, token)
                               : sessionStorage.removeItem(TOKEN_KEY),
  };
})();
