// Staff sign-in (POST /v1/agent/login). The token lives in sessionStorage: it survives a reload
// of the tab but not closing it.

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
