// Talking to the admin API: the bearer token, JSON requests, and the
// server-sent event stream (read with fetch so the token travels in a header,
// never in a URL).

const TOKEN_KEY = 'rfw-admin-token';

export class UnauthorizedError extends Error {}

export function getToken() {
  return localStorage.getItem(TOKEN_KEY) ?? '';
}

export function setToken(token) {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

/** A token passed as `#token=...` is stored, then removed from the address bar. */
export function adoptTokenFromHash() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!m) return;
  setToken(decodeURIComponent(m[1]));
  history.replaceState(null, '', location.pathname + location.search);
}

function headers(extra = {}) {
  const token = getToken();
  return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
}

/** A JSON request; throws with the API's message on an error answer. */
export async function api(path, { method = 'GET', body } = {}) {
  const res = await fetch(`/api${path}`, {
    method,
    headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) throw new UnauthorizedError('a valid admin token is required');
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(data.message ?? `${res.status} ${res.statusText}`);
    err.status = res.status;
    throw err;
  }
  return data;
}

/**
 * Follow `/api/events`, calling `onEvent(name, data)` for each event and
 * `onState('live' | 'connecting' | 'offline' | 'unauthorized')` as the
 * connection changes. Reconnects with backoff. Returns a stop function.
 */
export function followEvents(onEvent, onState) {
  let stopped = false;
  let controller;
  let delay = 500;
  const run = async () => {
    while (!stopped) {
      controller = new AbortController();
      onState('connecting');
      try {
        const res = await fetch('/api/events', { headers: headers(), signal: controller.signal });
        if (res.status === 401) {
          onState('unauthorized');
          return;
        }
        if (!res.ok || !res.body) throw new Error(`status ${res.status}`);
        onState('live');
        delay = 500;
        await readStream(res.body, onEvent);
      } catch {
        if (stopped) return;
      }
      onState('offline');
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  };
  void run();
  return () => {
    stopped = true;
    controller?.abort();
  };
}

async function readStream(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (data.length === 0) continue;
      try {
        onEvent(name, JSON.parse(data.join('\n')));
      } catch (err) {
        console.error('bad event', name, err);
      }
    }
  }
}
