// smartpark live dashboard: the park's power by role and by device, refreshed by polling
// /api/v1/parks/{park}/latest. Plain JavaScript, no framework and no build step; every URL is
// relative to the page, so the app works behind a path prefix and loads nothing from elsewhere.
//
// The API wants a key. A link may carry it in the fragment (`/#key=...`, never sent to the
// server): the page takes it once, keeps it in sessionStorage (this tab only), removes it from
// the address bar and sends it as `Authorization: Bearer` with every request. Without a key, or
// when the server refuses it, the page asks for one.
"use strict";

(function () {
  const POLL_MS = 2000;
  const REQUEST_TIMEOUT_MS = 5000;
  const API = "api/v1";
  const KEY_STORAGE = "smartpark.apiKey";

  // Roles whose devices carry power_kw, in the order an operator reads the energy flow.
  const POWER_ROLES = [
    { role: "grid_connection", label: "Grid connection", cls: "grid" },
    { role: "feeder", label: "Feeders", cls: "feeder" },
    { role: "load", label: "Tenant loads", cls: "load" },
    { role: "pv", label: "PV", cls: "pv" },
    { role: "storage", label: "Battery storage", cls: "storage" },
    { role: "ev_charging", label: "EV charging", cls: "ev" },
  ];
  const SENSOR_ROLES = ["gas", "environment"];
  const SENSOR_FIELDS = [
    { field: "flow_m3_per_h", label: "Gas flow", unit: "m³/h", digits: 2 },
    { field: "temperature_degc", label: "Temperature", unit: "°C", digits: 1 },
    { field: "humidity_pct", label: "Humidity", unit: "%", digits: 0 },
    { field: "pm25_ug_per_m3", label: "PM2.5", unit: "µg/m³", digits: 0 },
    { field: "co2_ppm", label: "CO₂", unit: "ppm", digits: 0 },
  ];
  // A device drawing less than this is not counted as "active" (charger idle draw, meter noise).
  const ACTIVE_KW = 0.1;

  const state = {
    park: null, // ParkOut
    tenants: new Map(), // id -> TenantOut
    buildings: new Map(), // id -> BuildingOut
    devices: [], // DeviceOut in registry order
    byId: new Map(), // device id -> DeviceOut
    rows: new Map(), // device id -> {row, fill, value, age}
    groups: new Map(), // role -> {card, total, meta, scale}
    roleRows: new Map(), // role -> {fill, value, count}
    sensorRows: new Map(), // device id -> {row, cells: Map(field -> td), age}
    latest: null, // LatestOut
    fetchedAt: 0, // Date.now() when `latest` arrived
    staleAfterS: 60,
    timer: null,
    failures: 0,
    key: null, // the API key (bearer token), or null
  };

  const $ = (id) => document.getElementById(id);

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // -- formatting -------------------------------------------------------------------------

  const kwFormat = new Intl.NumberFormat("en", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const numberFormats = new Map();
  function fmtNum(value, digits) {
    if (!numberFormats.has(digits)) {
      numberFormats.set(
        digits,
        new Intl.NumberFormat("en", { minimumFractionDigits: digits, maximumFractionDigits: digits }),
      );
    }
    return numberFormats.get(digits).format(value);
  }
  function fmtKw(value) {
    if (value === null || value === undefined || !Number.isFinite(value)) return "—";
    // avoid "-0.0"
    return kwFormat.format(Math.abs(value) < 0.05 ? 0 : value);
  }
  function fmtAge(seconds) {
    if (seconds < 1.5) return "now";
    if (seconds < 60) return `${Math.round(seconds)} s ago`;
    if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
    if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
    return `${Math.round(seconds / 86400)} d ago`;
  }
  let timeFormat = null;
  function fmtTime(ms) {
    return timeFormat ? timeFormat.format(new Date(ms)) : new Date(ms).toISOString();
  }
  function zoneLabel(timeZone) {
    try {
      const parts = new Intl.DateTimeFormat("en", { timeZone, timeZoneName: "shortOffset" })
        .formatToParts(new Date());
      const part = parts.find((p) => p.type === "timeZoneName");
      return part ? part.value.replace("GMT", "UTC") : timeZone;
    } catch (_err) {
      return timeZone;
    }
  }
  // A round upper bound for a bar scale: 1, 2, 2.5 or 5 times a power of ten.
  function niceCeil(value) {
    if (!(value > 0)) return 1;
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 2.5, 5, 10]) {
      if (value <= step * power) return step * power;
    }
    return 10 * power;
  }

  // -- the API key ------------------------------------------------------------------------

  function storeKey(key) {
    state.key = key || null;
    try {
      if (key) window.sessionStorage.setItem(KEY_STORAGE, key);
      else window.sessionStorage.removeItem(KEY_STORAGE);
    } catch (_err) {
      // storage disabled: the key lives as long as the page
    }
  }

  // A `#key=...` fragment, read once and removed from the address bar (and from history).
  function takeKeyFromFragment() {
    const params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    const key = params.get("key");
    if (key) {
      storeKey(key);
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

  class AuthError extends Error {}

  function showKeyForm(message) {
    if (state.timer) clearTimeout(state.timer);
    state.timer = null;
    setStatus("down", "API key needed");
    showError("");
    $("key-message").textContent = message;
    $("key-form").hidden = false;
    $("key-input").focus();
  }

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("key-input").value.trim();
    if (!key) return;
    storeKey(key);
    $("key-input").value = "";
    $("key-form").hidden = true;
    setStatus("wait", "Connecting…");
    start();
  });

  // -- data -------------------------------------------------------------------------------

  async function getJson(path) {
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    const headers = state.key ? { Authorization: `Bearer ${state.key}` } : {};
    try {
      const response = await fetch(path, { signal: controller.signal, cache: "no-store", headers });
      if (!response.ok) {
        let message = `${response.status} ${response.statusText}`;
        try {
          const body = await response.json();
          if (body && body.message) message = body.message;
        } catch (_err) {
          // not JSON: keep the status line
        }
        if (response.status === 401) throw new AuthError(message);
        throw new Error(message);
      }
      return await response.json();
    } finally {
      clearTimeout(timeout);
    }
  }

  // Age of a reading now, measured on the server's clock (the browser's may be off).
  function ageOf(reading) {
    const elapsedMs = Date.now() - state.fetchedAt;
    return (state.latest.server_time_ms - reading.time_ms + elapsedMs) / 1000;
  }

  function readingsById() {
    const map = new Map();
    if (!state.latest) return map;
    for (const r of state.latest.readings) {
      const age = ageOf(r);
      map.set(r.device, { fields: r.fields, timeMs: r.time_ms, age, stale: age > state.staleAfterS });
    }
    return map;
  }

  // -- building the page once -------------------------------------------------------------

  function deviceTitle(dev) {
    return dev.name || dev.id;
  }

  function rating(dev) {
    if (dev.capacity_kw && dev.capacity_kwh) {
      return `${fmtNum(dev.capacity_kw, 0)} kW / ${fmtNum(dev.capacity_kwh, 0)} kWh`;
    }
    if (dev.capacity_kw) return `${fmtNum(dev.capacity_kw, 0)} kW rated`;
    return "";
  }

  function deviceSubtitle(dev) {
    let where = "";
    if (dev.tenant && state.tenants.has(dev.tenant)) {
      where = state.tenants.get(dev.tenant).name;
    } else if (dev.building && state.buildings.has(dev.building)) {
      // "Plant 1 (single storey)" reads as "Plant 1"
      where = state.buildings.get(dev.building).name.replace(/\s*\(.*\)$/, "");
      if (dev.floor !== null) where += ` · floor ${dev.floor}`;
    }
    const parts = [where, rating(dev)].filter(Boolean);
    return parts.length ? parts.join(" · ") : dev.kind.replace(/_/g, " ");
  }

  function buildRoles() {
    const host = $("roles");
    host.replaceChildren();
    for (const { role, label, cls } of POWER_ROLES) {
      const count = state.devices.filter((d) => d.role === role).length;
      if (!count) continue;
      const row = el("div", `role-row role-${cls}`);
      row.dataset.role = role;
      const name = el("div", "role-name", label);
      const bar = el("div", "bar");
      const fill = el("div", "fill");
      bar.append(fill);
      const value = el("div", "role-value num", "—");
      const meta = el("div", "role-count", `${count} device${count === 1 ? "" : "s"}`);
      row.append(name, bar, value, meta);
      host.append(row);
      state.roleRows.set(role, { fill, value, meta, count });
    }
  }

  function buildGroups() {
    const host = $("groups");
    const wideHost = $("groups-wide");
    host.replaceChildren();
    wideHost.replaceChildren();
    for (const { role, label, cls } of POWER_ROLES) {
      const devices = state.devices.filter((d) => d.role === role);
      if (!devices.length) continue;
      // a long list (the floors of a high-rise) gets the full width, in columns
      const wide = devices.length > 12;
      const card = el("section", `card group group-${cls}${wide ? " group-wide" : ""}`);
      card.dataset.role = role;
      const head = el("header", "card-head");
      const title = el("h2", "card-title", label);
      const total = el("span", "card-total num", "—");
      const meta = el("div", "card-meta", "");
      head.append(title, total, meta);
      const list = el("div", "dev-list");
      for (const dev of devices) {
        const row = el("div", "dev");
        row.dataset.device = dev.id;
        row.title = [dev.id, dev.kind.replace(/_/g, " "), dev.capacity_kw ? `${dev.capacity_kw} kW rated` : ""]
          .filter(Boolean)
          .join(" · ");
        const names = el("div", "dev-names");
        names.append(el("div", "dev-name", deviceTitle(dev)), el("div", "dev-sub", deviceSubtitle(dev)));
        const bar = el("div", "bar");
        const fill = el("div", "fill");
        bar.append(fill);
        const value = el("div", "dev-value num", "—");
        const age = el("div", "dev-age", "no data");
        row.append(names, bar, value, age);
        list.append(row);
        state.rows.set(dev.id, { row, fill, value, age });
      }
      card.append(head, list);
      (wide ? wideHost : host).append(card);
      const capacity = Math.max(0, ...devices.map((d) => d.capacity_kw || 0));
      state.groups.set(role, { card, total, meta, capacity, devices });
    }
  }

  function buildSensors() {
    const devices = state.devices.filter((d) => SENSOR_ROLES.includes(d.role));
    const panel = $("sensors-panel");
    panel.hidden = devices.length === 0;
    if (!devices.length) return;
    const fields = SENSOR_FIELDS.filter((f) => devices.some((d) => d.fields.some((x) => x.name === f.field)));
    const table = $("sensors");
    table.replaceChildren();
    const thead = el("thead");
    const headRow = el("tr");
    headRow.append(el("th", "", "Device"));
    for (const f of fields) headRow.append(el("th", "num", `${f.label} (${f.unit})`));
    headRow.append(el("th", "age", "Last reading"));
    thead.append(headRow);
    const tbody = el("tbody");
    for (const dev of devices) {
      const row = el("tr");
      row.dataset.device = dev.id;
      const nameCell = el("td");
      nameCell.append(el("div", "dev-name", deviceTitle(dev)), el("div", "dev-sub", deviceSubtitle(dev)));
      row.append(nameCell);
      const cells = new Map();
      for (const f of fields) {
        const has = dev.fields.some((x) => x.name === f.field);
        const td = el("td", "num", has ? "—" : "");
        if (has) cells.set(f.field, { td, spec: f });
        row.append(td);
      }
      const age = el("td", "dev-age", "no data");
      row.append(age);
      tbody.append(row);
      state.sensorRows.set(dev.id, { row, cells, age });
    }
    table.append(thead, tbody);
  }

  // -- updating on every poll -------------------------------------------------------------

  function setTile(id, value, sub, warn) {
    const tile = $(id);
    tile.querySelector(".num").textContent = fmtKw(value);
    tile.querySelector(".tile-sub").textContent = sub;
    tile.classList.toggle("tile-warn", Boolean(warn));
    tile.classList.toggle("tile-empty", value === null);
  }

  function sumRole(role, readings) {
    let sum = 0;
    let fresh = 0;
    let active = 0;
    const devices = state.devices.filter((d) => d.role === role);
    for (const dev of devices) {
      const r = readings.get(dev.id);
      if (!r || r.stale || !Number.isFinite(r.fields.power_kw)) continue;
      sum += r.fields.power_kw;
      fresh += 1;
      if (Math.abs(r.fields.power_kw) >= ACTIVE_KW) active += 1;
    }
    return { sum: fresh ? sum : null, fresh, missing: devices.length - fresh, total: devices.length, active };
  }

  function missingNote(s) {
    return s.missing ? ` · ${s.missing} stale` : "";
  }

  function updateTiles(readings) {
    const grid = sumRole("grid_connection", readings);
    const pv = sumRole("pv", readings);
    const storage = sumRole("storage", readings);
    const ev = sumRole("ev_charging", readings);

    let gridSub = "no grid meter data";
    if (grid.sum !== null) gridSub = grid.sum < -ACTIVE_KW ? "exporting to the grid" : "from the utility";
    setTile("tile-grid", grid.sum, gridSub + missingNote(grid), grid.missing);

    const pvCapacity = state.devices
      .filter((d) => d.role === "pv")
      .reduce((acc, d) => acc + (d.capacity_kw || 0), 0);
    let pvSub = `${pv.fresh} of ${pv.total} inverters reporting`;
    if (pv.sum !== null && pvCapacity > 0) {
      pvSub = `${fmtNum((100 * pv.sum) / pvCapacity, 0)} % of ${fmtNum(pvCapacity, 0)} kWp` + missingNote(pv);
    }
    setTile("tile-pv", pv.sum, pvSub, pv.missing);

    // state of charge, weighted by battery capacity
    let socWeighted = 0;
    let socWeight = 0;
    for (const dev of state.devices.filter((d) => d.role === "storage")) {
      const r = readings.get(dev.id);
      if (!r || r.stale || !Number.isFinite(r.fields.soc_pct)) continue;
      const w = dev.capacity_kwh || 1;
      socWeighted += r.fields.soc_pct * w;
      socWeight += w;
    }
    const soc = socWeight ? socWeighted / socWeight : null;
    let mode = "no battery data";
    if (storage.sum !== null) {
      if (storage.sum > ACTIVE_KW) mode = "discharging";
      else if (storage.sum < -ACTIVE_KW) mode = "charging";
      else mode = "idle";
    }
    const socText = soc !== null ? ` · SoC ${fmtNum(soc, 0)} %` : "";
    setTile("tile-storage", storage.sum, mode + socText + missingNote(storage), storage.missing);
    const socFill = $("tile-storage").querySelector(".soc-fill");
    socFill.style.width = `${soc !== null ? Math.max(0, Math.min(100, soc)) : 0}%`;
    socFill.parentElement.classList.toggle("soc-empty", soc === null);

    setTile(
      "tile-ev",
      ev.sum,
      `${ev.active} of ${ev.total} charging` + missingNote(ev),
      ev.missing,
    );

    // The park's consumption is what comes from the grid plus what PV and the battery supply.
    let load = null;
    let loadSub = "needs the grid meter";
    if (grid.sum !== null) {
      load = grid.sum + (pv.sum || 0) + (storage.sum || 0);
      const local = Math.max(0, (pv.sum || 0) + Math.max(0, storage.sum || 0));
      loadSub = load > ACTIVE_KW ? `${fmtNum(Math.min(100, (100 * local) / load), 0)} % supplied on site` : "grid + PV + battery";
    }
    setTile("tile-load", load, loadSub, grid.missing);
  }

  function updateRoles(readings) {
    const sums = new Map();
    for (const { role } of POWER_ROLES) {
      if (state.roleRows.has(role)) sums.set(role, sumRole(role, readings));
    }
    const scale = niceCeil(Math.max(...[...sums.values()].map((s) => Math.abs(s.sum || 0))));
    for (const [role, s] of sums) {
      const r = state.roleRows.get(role);
      r.value.textContent = s.sum === null ? "—" : `${fmtKw(s.sum)} kW`;
      setBar(r.fill, s.sum, scale);
      r.meta.textContent = `${s.fresh} of ${s.total} reporting`;
      r.fill.parentElement.parentElement.classList.toggle("stale", s.sum === null);
    }
  }

  function setBar(fill, value, scale) {
    const v = Number.isFinite(value) ? value : 0;
    fill.style.width = `${Math.min(100, (100 * Math.abs(v)) / scale)}%`;
    fill.classList.toggle("neg", v < 0);
  }

  function updateGroups(readings) {
    for (const [role, g] of state.groups) {
      let max = g.capacity;
      for (const dev of g.devices) {
        const r = readings.get(dev.id);
        if (r && Number.isFinite(r.fields.power_kw)) max = Math.max(max, Math.abs(r.fields.power_kw));
      }
      const scale = niceCeil(max);
      const s = sumRole(role, readings);
      g.total.textContent = s.sum === null ? "—" : `${fmtKw(s.sum)} kW`;
      const staleCount = g.devices.length - s.fresh;
      g.meta.textContent = `${g.devices.length} device${g.devices.length === 1 ? "" : "s"}` +
        (staleCount ? ` · ${staleCount} stale` : "") + ` · bar scale ${fmtNum(scale, 0)} kW`;
      for (const dev of g.devices) {
        const row = state.rows.get(dev.id);
        const r = readings.get(dev.id);
        const power = r ? r.fields.power_kw : null;
        const stale = !r || r.stale;
        row.row.classList.toggle("stale", stale);
        row.row.classList.toggle("no-data", !r);
        row.value.textContent = power === null || power === undefined ? "—" : `${fmtKw(power)} kW`;
        setBar(row.fill, power, scale);
        row.age.textContent = r ? (stale ? `stale · ${fmtAge(r.age)}` : fmtAge(r.age)) : "no data";
      }
    }
  }

  function updateSensors(readings) {
    for (const [id, s] of state.sensorRows) {
      const r = readings.get(id);
      const stale = !r || r.stale;
      s.row.classList.toggle("stale", stale);
      for (const [field, { td, spec }] of s.cells) {
        const v = r ? r.fields[field] : null;
        td.textContent = Number.isFinite(v) ? fmtNum(v, spec.digits) : "—";
      }
      s.age.textContent = r ? (stale ? `stale · ${fmtAge(r.age)}` : fmtAge(r.age)) : "no data";
    }
  }

  function render() {
    if (!state.latest) return;
    const readings = readingsById();
    updateTiles(readings);
    updateRoles(readings);
    updateGroups(readings);
    updateSensors(readings);
    let newest = null;
    for (const r of readings.values()) newest = newest === null ? r.timeMs : Math.max(newest, r.timeMs);
    const serverNow = state.latest.server_time_ms + (Date.now() - state.fetchedAt);
    $("updated").textContent =
      `Updated ${fmtTime(serverNow)}` +
      (newest !== null ? ` · newest reading ${fmtAge((serverNow - newest) / 1000)}` : " · no readings yet");
  }

  function setStatus(kind, text) {
    const dot = $("status-dot");
    dot.className = `dot dot-${kind}`;
    $("status-text").textContent = text;
  }

  function showError(message) {
    const banner = $("error");
    banner.hidden = !message;
    banner.textContent = message || "";
  }

  async function poll() {
    try {
      const latest = await getJson(`${API}/parks/${encodeURIComponent(state.park.id)}/latest`);
      state.latest = latest;
      state.fetchedAt = Date.now();
      state.staleAfterS = latest.stale_after_s;
      $("stale-after").textContent = String(latest.stale_after_s);
      state.failures = 0;
      setStatus("live", "Live");
      showError("");
    } catch (err) {
      if (err instanceof AuthError) {
        storeKey(null);
        showKeyForm("The server no longer accepts this API key. Enter another one.");
        return;
      }
      state.failures += 1;
      setStatus("down", "Offline · retrying");
      if (state.failures >= 2) showError(`Cannot reach the server: ${err.message}`);
    }
    render();
    state.timer = setTimeout(poll, POLL_MS);
  }

  async function loadPark(parkId, parks) {
    if (state.timer) clearTimeout(state.timer);
    const [detail, devices] = await Promise.all([
      getJson(`${API}/parks/${encodeURIComponent(parkId)}`),
      getJson(`${API}/parks/${encodeURIComponent(parkId)}/devices`),
    ]);
    state.park = detail.park;
    state.tenants = new Map(detail.tenants.map((t) => [t.id, t]));
    state.buildings = new Map(detail.buildings.map((b) => [b.id, b]));
    state.devices = devices;
    state.byId = new Map(devices.map((d) => [d.id, d]));
    state.rows.clear();
    state.groups.clear();
    state.roleRows.clear();
    state.sensorRows.clear();
    state.latest = null;
    timeFormat = new Intl.DateTimeFormat("en-GB", {
      timeZone: state.park.timezone,
      year: "numeric",
      month: "short",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    });

    document.title = `${state.park.name} · smartpark`;
    $("park-name").textContent = state.park.name;
    $("park-meta").textContent =
      `${state.park.devices} devices · ${state.park.buildings} buildings · ${state.park.tenants} tenants · ` +
      `times in ${state.park.timezone} (${zoneLabel(state.park.timezone)})`;
    const select = $("park-select");
    select.replaceChildren(...parks.map((p) => {
      const option = el("option", "", p.name);
      option.value = p.id;
      option.selected = p.id === parkId;
      return option;
    }));
    $("park-select-label").hidden = parks.length < 2;

    buildRoles();
    buildGroups();
    buildSensors();
    await poll();
  }

  async function start() {
    let parks;
    try {
      parks = await getJson(`${API}/parks`);
    } catch (err) {
      if (err instanceof AuthError) {
        const refused = Boolean(state.key);
        storeKey(null);
        showKeyForm(refused ? "That API key was refused. Enter another one." : "Enter an API key to see the park.");
        return;
      }
      setStatus("down", "Offline");
      showError(`Cannot load the parks: ${err.message}. Reload the page to try again.`);
      return;
    }
    if (!parks.length) {
      setStatus("down", "No parks");
      showError("The registry has no parks.");
      return;
    }
    const wanted = new URLSearchParams(window.location.search).get("park");
    const parkId = parks.some((p) => p.id === wanted) ? wanted : parks[0].id;
    $("park-select").onchange = (event) => {
      const url = new URL(window.location.href);
      url.searchParams.set("park", event.target.value);
      window.history.replaceState(null, "", url);
      loadPark(event.target.value, parks).catch((err) => showError(err.message));
    };
    try {
      await loadPark(parkId, parks);
    } catch (err) {
      if (err instanceof AuthError) {
        storeKey(null);
        showKeyForm("That API key was refused. Enter another one.");
        return;
      }
      setStatus("down", "Offline");
      showError(`Cannot load park ${parkId}: ${err.message}. Reload the page to try again.`);
    }
  }

  // Ages keep counting between polls and while the server is unreachable.
  setInterval(render, 1000);
  takeKeyFromFragment();
  start();
})();
