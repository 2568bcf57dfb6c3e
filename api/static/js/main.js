// smartpark live dashboard, the entry point: plain ES modules, no framework, no build step,
// nothing loaded from anywhere but this app (every URL is relative to the page, so it also works
// behind a prefix). The park is "?park=<id>" (default: the first the key sees).
//
// The API wants a key. A link may carry it in the fragment ("#key=...", never sent to the
// server): the page takes it once, keeps it in sessionStorage (this tab only), removes it from
// the address bar and sends it as "Authorization: Bearer" with every request. Without a key, or
// when the server refuses it, the page asks for one.

import { HttpError, getJson, handleAuth, onUnauthorized, storeKey, takeKeyFromFragment } from "./api.js";
import { $, el } from "./dom.js";
import { t } from "./i18n.js";
import { startLive, stopLive, tick } from "./live.js";
import { applyStaticLabels, setStatus, showError } from "./page.js";
import { listenForRoutes, route } from "./router.js";
import { API, LANG_STORAGE, state } from "./state.js";

function showKeyForm(message) {
  stopLive();
  setStatus("down", t("key_needed"));
  showError("");
  $("key-message").textContent = message;
  $("key-form").hidden = false;
  $("view").replaceChildren();
  $("crumbs").hidden = true;
  $("key-input").focus();
}

async function loadUiConfig() {
  // the thresholds the server judges data by, so that the page does not repeat them
  const ui = await getJson(`${API}/ui-config`);
  state.minCompletenessPct = ui.min_completeness_pct;
  state.staleAfterS = ui.stale_after_s;
}

async function detectRole() {
  // GET /me names the key's role (and its park and tenant)
  const me = await getJson(`${API}/me`);
  return me.role;
}

async function loadPark(parkId) {
  stopLive();
  const [detail, devices] = await Promise.all([
    getJson(`${API}/parks/${encodeURIComponent(parkId)}`),
    getJson(`${API}/parks/${encodeURIComponent(parkId)}/devices`),
  ]);
  state.park = detail.park;
  state.tenants = new Map(detail.tenants.map((x) => [x.id, x]));
  state.buildings = new Map(detail.buildings.map((x) => [x.id, x]));
  state.devices = devices;
  state.byId = new Map(devices.map((d) => [d.id, d]));
  state.readings.clear();
  state.alarms.clear();
  state.alarmsAvailable = null;
  state.flows = null;
  state.today = null;
  state.targets = null;
  document.title = `${state.park.name} · smartpark`;
  const select = $("park-select");
  select.replaceChildren(...state.parks.map((p) => {
    const option = el("option", "", p.name);
    option.value = p.id;
    option.selected = p.id === parkId;
    return option;
  }));
  $("park-select-label").hidden = state.parks.length < 2;
  applyStaticLabels();
  route();
  startLive();
}

async function start() {
  let parks;
  try {
    parks = await getJson(`${API}/parks`);
    const [role] = await Promise.all([detectRole(), loadUiConfig()]);
    state.role = role;
  } catch (err) {
    if (err instanceof HttpError && err.status === 401) {
      const refused = Boolean(state.key);
      storeKey(null);
      showKeyForm(refused ? t("key_refused") : t("key_enter"));
      return;
    }
    setStatus("down", t("offline"));
    showError(t("cannot_reach", err.message));
    return;
  }
  if (!parks.length) {
    setStatus("down", "—");
    showError(t("no_parks"));
    return;
  }
  state.parks = parks;
  const wanted = new URLSearchParams(window.location.search).get("park");
  const parkId = parks.some((p) => p.id === wanted) ? wanted : parks[0].id;
  $("park-select").onchange = (event) => {
    const url = new URL(window.location.href);
    url.searchParams.set("park", event.target.value);
    window.history.replaceState(null, "", url);
    loadPark(event.target.value).catch((err) => showError(err.message));
  };
  try {
    await loadPark(parkId);
  } catch (err) {
    if (handleAuth(err)) return;
    setStatus("down", t("offline"));
    showError(`${parkId}: ${err.message}`);
  }
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = $("key-input").value.trim();
  if (!key) return;
  storeKey(key);
  $("key-input").value = "";
  $("key-form").hidden = true;
  setStatus("wait", t("connecting"));
  start();
});

$("lang-toggle").addEventListener("click", () => {
  state.lang = state.lang === "en" ? "zh" : "en";
  try {
    window.localStorage.setItem(LANG_STORAGE, state.lang);
  } catch (_err) {
    // not kept
  }
  applyStaticLabels();
  route();
});

onUnauthorized(() => showKeyForm(t("key_revoked")));
listenForRoutes(() => {
  takeKeyFromFragment();
  start();
});

// -- boot: the language, the labels, the key, the park

try {
  const saved = window.localStorage.getItem(LANG_STORAGE);
  const asked = new URLSearchParams(window.location.search).get("lang");
  state.lang = asked === "en" || asked === "zh" ? asked : saved === "en" ? "en" : "zh";
} catch (_err) {
  state.lang = "zh";
}
applyStaticLabels();
$("key-message").textContent = t("key_enter");
// ages keep counting between updates and while the server is unreachable
setInterval(tick, 1000);
takeKeyFromFragment();
start();
