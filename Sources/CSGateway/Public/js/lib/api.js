// JSON over HTTP to the gateway (docs/api.md). Errors become ApiError with the API's code.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

export function createApi(base, getToken = () => null) {
  async function request(method, path, body, { raw = false } = {}) {
    const headers = {};
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (error) {
      throw new ApiError(0, 'network', 'The server cannot be reached. Check your connection.');
    }
    if (!response.ok) {
      let error = {};
      try { error = (await response.json()).error || {}; } catch { /* not JSON */ }
      throw new ApiError(response.status, error.code, error.message);
    }
    if (raw) return response;
    if (response.status === 204 || response.status === 202 && response.headers.get('content-length') === '0') return null;
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  }
  return {
    get: (path, options) => request('GET', path, undefined, options),
    post: (path, body) => request('POST', path, body),
    put: (path, body) => request('PUT', path, body),
    patch: (path, body) => request('PATCH', path, body),
    del: (path) => request('DELETE', path),
  };
}

/** The WebSocket URL of an http(s) gateway base URL. */
export function wsURL(base) {
  const url = new URL(base, location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.origin.replace(/^http/, 'ws') + url.pathname.replace(/\/$/, '') + '/v1/ws';
}
