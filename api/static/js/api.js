// The API client: the key (from the address fragment or this tab's storage), requests with
// "Authorization: Bearer" and a timeout, errors with their HTTP status.

import { API, KEY_STORAGE, REQUEST_TIMEOUT_MS, state } from "./state.js";

// -- the API key ------------------------------------------------------------------------

export function storeKey(key) {
  state.key = key || null;
  try {
    if (key) window.sessionStorage.setItem(KEY_STORAGE, key);
    else window.sessionStorage.removeItem(KEY_STORAGE);
  } catch (_err) {
    // storage disabled: the key lives as long as the page
  }
}

export function takeKeyFromFragment() {
  const raw = window.location.hash.replace(/^#/, "");
  if (raw.startsWith("key=") || raw.includes("&key=")) {
    const params = new URLSearchParams(raw);
    storeKey(params.get("key"));
    params.delete("key");
    const rest = params.toString();
    const url = window.location.pathname + window.location.search + (rest ? `#${rest}` : "");
    window.history.replaceState(null, "", url);
    return;
  }
  try {
    state.key = window.sessionStorage.getItem(KEY_STORAGE);
  } catch (_err) {
    state.key = null;
  }
}

export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function authHeaders() {
  return state.key ? { Authorization: `Bearer ${state.key}` } : {};
}

export async function request(path, timeoutMs) {
  const controller = new AbortController();
  const timeout = setTimeout(() => controller.abort(), timeoutMs || REQUEST_TIMEOUT_MS);
  try {
    const response = await fetch(path, { signal: controller.signal, cache: "no-store", headers: authHeaders() });
    if (!response.ok) {
      let message = `${response.status} ${response.statusText}`;
      try {
        const body = await response.json();
        if (body && body.message) message = body.message;
      } catch (_err) {
        // not JSON: keep the status line
      }
      throw new HttpError(response.status, message);
    }
    return response;
  } finally {
    clearTimeout(timeout);
  }
}
export async function getJson(path, timeoutMs) {
  const response = await request(path, timeoutMs);
  return response.json();
}
// a request that changes something: the JSON answer and the status, whatever the status (a
// 422's body names the fields at fault); a 401 still goes to handleAuth through HttpError
export async function sendJson(method, path, body) {
  const controller = new AbortController();
  const timeout = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  try {
    const response = await fetch(path, {
      method,
      signal: controller.signal,
      cache: "no-store",
      headers: { ...authHeaders(), "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let answer = null;
    try {
      answer = await response.json();
    } catch (_err) {
      // no JSON body
    }
    if (response.status === 401) throw new HttpError(401, (answer && answer.message) || "401");
    return { status: response.status, ok: response.ok, body: answer };
  } finally {
    clearTimeout(timeout);
  }
}
export function parkPath(rest) {
  return `${API}/parks/${encodeURIComponent(state.park.id)}${rest || ""}`;
}
let unauthorized = () => {};
// what to do when the server refuses the key (main.js asks for another)
export function onUnauthorized(handler) {
  unauthorized = handler;
}
export function handleAuth(err) {
  if (err instanceof HttpError && err.status === 401) {
    storeKey(null);
    unauthorized();
    return true;
  }
  return false;
}
