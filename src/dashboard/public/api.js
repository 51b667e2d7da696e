// The dashboard's only way out: the public API on this origin. With API_TOKEN set on the server, a 401
// asks for the token once; it is kept in sessionStorage (this tab only) and sent as a Bearer header.

const TOKEN_KEY = 'msgtrack.token';
let tokenPrompt;

function authHeaders() {
  const t = sessionStorage.getItem(TOKEN_KEY);
  return t ? { authorization: `Bearer ${t}` } : {};
}

/** Shows the token dialog and resolves once a token was entered (one prompt shared by all callers). */
function askToken() {
  tokenPrompt ??= new Promise((resolve) => {
    const dialog = document.getElementById('token-dialog');
    const form = document.getElementById('token-form');
    const input = document.getElementById('token-input');
    form.addEventListener(
      'submit',
      () => {
        sessionStorage.setItem(TOKEN_KEY, input.value.trim());
        input.value = '';
        tokenPrompt = undefined;
        resolve();
      },
      { once: true },
    );
    dialog.showModal();
    input.focus();
  });
  return tokenPrompt;
}

/** An API error: the server's `{"error": {code, message}}` shape, or the network failure. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(`${code}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

/** JSON from `path` (GET, or POST with `body`); throws ApiError. */
export async function api(path, body) {
  for (;;) {
    const init = { headers: { ...authHeaders() } };
    if (body !== undefined) {
      init.method = 'POST';
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, 'NETWORK', `${path}: ${e.message}`);
    }
    if (res.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      await askToken();
      continue;
    }
    const json = await res.json().catch(() => undefined);
    if (!res.ok) {
      throw new ApiError(res.status, json?.error?.code ?? `HTTP_${res.status}`, json?.error?.message ?? path);
    }
    return json;
  }
}

/**
 * The live feed (SSE) read with fetch, since EventSource cannot send the Authorization header.
 * Reconnects after 2 s with Last-Event-ID, so alerts are neither lost nor repeated.
 * `on(type, data)` per event, `status(text)` on connection changes; returns a stop function.
 */
export function liveFeed(types, on, status) {
  const ctl = new AbortController();
  let lastId;
  const run = async () => {
    while (!ctl.signal.aborted) {
      try {
        const headers = { ...authHeaders(), accept: 'text/event-stream' };
        if (lastId !== undefined) headers['last-event-id'] = lastId;
        const res = await fetch(`/api/v1/stream?types=${types.join(',')}`, { headers, signal: ctl.signal });
        if (res.status === 401) {
          sessionStorage.removeItem(TOKEN_KEY);
          await askToken();
          continue;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        status('live: connected');
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let end = buf.indexOf('\n\n');
          while (end >= 0) {
            const frame = buf.slice(0, end);
            buf = buf.slice(end + 2);
            end = buf.indexOf('\n\n');
            let event = 'message';
            let id;
            const data = [];
            for (const line of frame.split('\n')) {
              if (line.startsWith('event: ')) event = line.slice(7);
              else if (line.startsWith('id: ')) id = line.slice(4);
              else if (line.startsWith('data: ')) data.push(line.slice(6));
            }
            if (id !== undefined) lastId = id;
            if (data.length > 0) on(event, JSON.parse(data.join('\n')));
          }
        }
        status('live: reconnecting');
      } catch (e) {
        if (ctl.signal.aborted) return;
        status(`live: disconnected (${e.message}), retrying`);
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  };
  void run();
  return () => ctl.abort();
}
