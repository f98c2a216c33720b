// Staff sign-in (POST /v1/agent/login). The token lives in sessionStorage: it survives a reload
// of the tab but not closing it. Staff tokens last an hour: keepFresh renews them
// (POST /v1/agent/refresh) five minutes before they expire.

const KEY = 'cs-staff';

export function storedSignIn() {
  try {
    const data = JSON.parse(sessionStorage.getItem(KEY));
    if (data && Date.parse(data.expiresAt) > Date.now() + 60000) return data;
  } catch { /* ignore */ }
  return null;
}

export async function signIn(api, agentId, password) {
  const answer = await api.post('/v1/agent/login', { agentId, password });
  sessionStorage.setItem(KEY, JSON.stringify(answer));
  return answer;
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

const RENEW_BEFORE_MS = 5 * 60 * 1000;

/**
 * Renews the token before it expires, for as long as the page runs. `getAuth()` returns the
 * current sign-in; `onRenewed(answer)` receives the new one (already stored); `onExpired()` is
 * called when the gateway refuses to renew (account removed, password changed: 401).
 * Other failures (network, 503) are retried a minute later. Returns a function that stops it.
 */
export function keepFresh(api, getAuth, onRenewed, onExpired) {
  let timer = null;
  let stopped = false;
  const schedule = (delay) => {
    if (!stopped) timer = setTimeout(renew, Math.max(1000, delay));
  };
  const renew = async () => {
    const auth = getAuth();
    if (!auth) return;
    try {
      const answer = await api.post('/v1/agent/refresh', {});
      sessionStorage.setItem(KEY, JSON.stringify(answer));
      onRenewed(answer);
      schedule(Date.parse(answer.expiresAt) - Date.now() - RENEW_BEFORE_MS);
    } catch (e) {
      if (e.status === 401 || e.code === 'unauthorized') onExpired();
      else schedule(60000);
    }
  };
  const auth = getAuth();
  if (auth) schedule(Date.parse(auth.expiresAt) - Date.now() - RENEW_BEFORE_MS);
  return () => { stopped = true; clearTimeout(timer); };
}

/** Wires a sign-in form (fields agentId, password; an element .form-error for messages). */
export function bindSignInForm(form, api, onSignedIn, { requireRole } = {}) {
  const error = form.querySelector('.form-error');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    const agentId = form.elements.agentId.value.trim();
    const password = form.elements.password.value;
    try {
      const answer = await signIn(api, agentId, password);
      if (requireRole && answer.agent.role !== requireRole) {
        signOut();
        error.textContent = `This page is for ${requireRole}s only.`;
        return;
      }
      form.reset();
      onSignedIn(answer);
    } catch (e) {
      error.textContent = e.code === 'invalid_credentials' ? 'Unknown agent or wrong password.' : e.message;
    }
  });
}
