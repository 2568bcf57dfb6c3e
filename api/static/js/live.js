// Live data: the /latest snapshot, then the park's Server-Sent Events stream read with fetch (so
// the key travels in a header), or polling /latest when the server has no stream. Readings land
// in state.readings; a render is queued for the next animation frame.

import { HttpError, authHeaders, getJson, handleAuth, parkPath } from "./api.js";
import { $ } from "./dom.js";
import { fmtAge, fmtTime, serverNow } from "./format.js";
import { t } from "./i18n.js";
import { setStatus, showError } from "./page.js";
import { ACTIVE_KW, POLL_MS, STREAM_IDLE_MS, STREAM_RETRY_MS, state } from "./state.js";

export function applyLatest(latest) {
  state.offsetMs = latest.server_time_ms - Date.now();
  state.staleAfterS = latest.stale_after_s || state.staleAfterS;
  for (const r of latest.readings) applyReading(r.device, r.time_ms, r.fields);
}
// Display latency, for bench/api.py: [reading time, time it reached the screen] [ms], last 2,000
export const shown = [];
let unshown = [];
window.smartparkShown = shown;
export function applyReading(device, timeMs, fields) {
  const old = state.readings.get(device);
  if (old && old.timeMs > timeMs) return;
  if (!old || old.timeMs !== timeMs) unshown.push(timeMs);
  const merged = old && old.timeMs === timeMs ? { ...old.fields, ...fields } : { ...fields };
  state.readings.set(device, { fields: merged, timeMs });
}
export function applyAlarm(alarm) {
  if (!alarm || alarm.id === undefined) return;
  if (alarm.state === "cleared") state.alarms.delete(String(alarm.id));
  else state.alarms.set(String(alarm.id), alarm);
}

export function stopLive() {
  state.liveGen += 1;
  if (state.pollTimer) clearTimeout(state.pollTimer);
  state.pollTimer = null;
  if (state.streamAbort) state.streamAbort.abort();
  state.streamAbort = null;
  state.live = null;
}

export async function pollOnce() {
  const latest = await getJson(parkPath("/latest"), 5000);
  applyLatest(latest);
  state.failures = 0;
  showError("");
}

export async function startLive() {
  stopLive();
  const gen = state.liveGen;
  try {
    await pollOnce(); // a snapshot and the server's clock, whatever comes next
  } catch (err) {
    if (handleAuth(err)) return;
    liveFailed(err);
  }
  if (gen !== state.liveGen) return;
  scheduleRender();
  if (await openStream(gen)) return;
  if (gen !== state.liveGen) return;
  startPolling(gen);
}

export function liveFailed(err) {
  state.failures += 1;
  setStatus("down", t("offline"));
  if (state.failures >= 2) showError(t("cannot_reach", err.message));
}

export function startPolling(gen) {
  state.live = "poll";
  setStatus("live", t("live_poll"));
  const retryStreamAt = Date.now() + STREAM_RETRY_MS;
  const tickPoll = async () => {
    if (gen !== state.liveGen) return;
    if (Date.now() > retryStreamAt) {
      startLive();
      return;
    }
    try {
      await pollOnce();
      setStatus("live", t("live_poll"));
    } catch (err) {
      if (handleAuth(err)) return;
      liveFailed(err);
    }
    if (gen !== state.liveGen) return;
    scheduleRender();
    state.pollTimer = setTimeout(tickPoll, POLL_MS);
  };
  state.pollTimer = setTimeout(tickPoll, POLL_MS);
}

// true when the stream answered 200 (it is then read in the background)
export async function openStream(gen) {
  const controller = new AbortController();
  state.streamAbort = controller;
  let response;
  try {
    response = await fetch(parkPath("/stream"), {
      signal: controller.signal,
      cache: "no-store",
      headers: { ...authHeaders(), Accept: "text/event-stream" },
    });
  } catch (_err) {
    return false;
  }
  if (response.status === 401) {
    handleAuth(new HttpError(401, "unauthorized"));
    return true;
  }
  if (response.status !== 200 || !response.body) {
    try {
      await response.body?.cancel();
    } catch (_err) {
      // nothing to release
    }
    return false;
  }
  state.live = "stream";
  state.failures = 0;
  setStatus("live", t("live_stream"));
  readStream(response.body, controller, gen);
  return true;
}

export async function readStream(body, controller, gen) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let lastByte = Date.now();
  const watchdog = setInterval(() => {
    if (Date.now() - lastByte > STREAM_IDLE_MS) controller.abort();
  }, 5000);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      lastByte = Date.now();
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
        handleEventBlock(block);
      }
    }
  } catch (_err) {
    // aborted or the connection dropped
  } finally {
    clearInterval(watchdog);
  }
  if (gen !== state.liveGen) return;
  // the stream ended (server restart, or this client fell behind): a fresh snapshot and stream;
  // the status turns "offline" only if the server does not answer
  setTimeout(() => {
    if (gen === state.liveGen) startLive();
  }, 2000);
}

export function handleEventBlock(block) {
  let event = "message";
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(":")) continue; // ": ping"
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return;
  let payload;
  try {
    payload = JSON.parse(data.join("\n"));
  } catch (_err) {
    return;
  }
  handleEvent(event, payload);
}

export function handleEvent(event, p) {
  if (event === "reading" && p.device) {
    applyReading(p.device, p.time_ms, p.fields || {});
  } else if (event === "flows") {
    state.flows = { ...p, receivedAt: Date.now() };
  } else if (event === "alarm") {
    state.alarmsAvailable = true;
    applyAlarm(p);
  } else if (event === "snapshot" || event === "message") {
    if (Array.isArray(p.readings)) {
      if (p.server_time_ms) applyLatest(p);
      else for (const r of p.readings) applyReading(r.device, r.time_ms, r.fields || {});
    }
    if (Array.isArray(p.alarms)) {
      state.alarmsAvailable = true;
      state.alarms.clear();
      p.alarms.forEach(applyAlarm);
    }
    if (p.flows) state.flows = { ...p.flows, receivedAt: Date.now() };
  }
  scheduleRender();
}

let renderQueued = false;
export function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    tick();
    const now = Date.now();
    for (const t of unshown) shown.push([t, now]);
    unshown = [];
    if (shown.length > 2000) shown.splice(0, shown.length - 2000);
  });
}

export function tick() {
  if (state.view && state.view.tick) state.view.tick();
  updateStatusLine();
}

export function updateStatusLine() {
  if (!state.park) return;
  const now = serverNow();
  let newest = null;
  for (const r of state.readings.values()) newest = newest === null ? r.timeMs : Math.max(newest, r.timeMs);
  $("updated").textContent = `${t("updated", fmtTime(now))} · ` +
    (newest !== null ? t("newest", fmtAge(Math.max(0, now - newest) / 1000)) : t("no_readings"));
}

export function reading(id) {
  const r = state.readings.get(id);
  if (!r) return null;
  const age = Math.max(0, serverNow() - r.timeMs) / 1000;
  return { fields: r.fields, timeMs: r.timeMs, age, stale: age > state.staleAfterS };
}

export function sumRole(role) {
  let sum = 0;
  let fresh = 0;
  let active = 0;
  const devices = state.devices.filter((d) => d.role === role);
  for (const dev of devices) {
    const r = reading(dev.id);
    if (!r || r.stale || !Number.isFinite(r.fields.power_kw)) continue;
    sum += r.fields.power_kw;
    fresh += 1;
    if (Math.abs(r.fields.power_kw) >= ACTIVE_KW) active += 1;
  }
  return { sum: fresh ? sum : null, fresh, total: devices.length, active };
}

// grid, PV, battery, EV, buildings and the park's whole load [kW]: the stream's `flows` when
// fresh (its load_kw is the buildings': grid + PV + battery − EV), else summed from readings
export function currentFlows() {
  if (state.flows && Date.now() - state.flows.receivedAt < 10000) {
    const f = state.flows;
    const total = f.load_kw === null || f.load_kw === undefined ? null : f.load_kw + (f.ev_kw || 0);
    return { grid: f.grid_kw, pv: f.pv_kw, battery: f.battery_kw, ev: f.ev_kw, buildings: f.load_kw, load: total, from: "stream" };
  }
  const grid = sumRole("grid_connection").sum;
  const pv = sumRole("pv").sum;
  const battery = sumRole("storage").sum;
  const ev = sumRole("ev_charging").sum;
  const load = grid === null ? null : grid + (pv || 0) + (battery || 0);
  const buildings = load === null ? null : load - (ev || 0);
  return { grid, pv, battery, ev, buildings, load, from: "readings" };
}
