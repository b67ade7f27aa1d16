// What every page shares: the caller's API key (kept in this tab's session storage only) and
// calls to the service's JSON API with it.

const keyStore = "proctor.api-key";

export function apiKey() {
  return sessionStorage.getItem(keyStore) || "";
}

export function rememberKey(key) {
  sessionStorage.setItem(keyStore, key.trim());
}

export async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${apiKey()}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(payload.error ? payload.error.message : `HTTP ${response.status}`);
    error.issues = (payload.error && payload.error.issues) || []; // located problems, if any
    throw error;
  }
  return payload;
}

// For answers that are not JSON (a bundle to download) or requests that are not (an upload):
// the raw Response, after the same error handling.
export async function apiResponse(method, path, { json, form } = {}) {
  const headers = { Authorization: `Bearer ${apiKey()}` };
  if (json !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: json !== undefined ? JSON.stringify(json) : form,
  });
  if (!response.ok) {
    const payload = await response.json().catch(() => ({}));
    throw new Error(payload.error ? payload.error.message : `HTTP ${response.status}`);
  }
  return response;
}
