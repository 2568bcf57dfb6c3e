// The park overview (#/): power flow, alarms, today's energy and carbon, indicators against
// targets, buildings, every device.

import { HttpError, getJson, handleAuth, parkPath } from "../api.js";
import { deviceRow, deviceScale, updateDeviceRow } from "../devices.js";
import { $, el, svg } from "../dom.js";
import { fmtKw, fmtNum, fmtTime, localDate, roleLabel, serverNow } from "../format.js";
import { alarmKindLabel, alarmMessage, has, reasonText, t } from "../i18n.js";
import { fmtIndicator, fmtThreshold, indicator, profileText } from "../indicators.js";
import { applyAlarm, currentFlows, reading, sumRole } from "../live.js";
import { panel, setCrumbs, setTab } from "../page.js";
import { ACTIVE_KW, TARGETS_REFRESH_MS, TODAY_REFRESH_MS, state } from "../state.js";

export const FLOW_NODES = {
  grid: { x: 110, y: 200, label: "grid", cls: "grid" },
  pv: { x: 400, y: 62, label: "pv", cls: "pv" },
  battery: { x: 400, y: 338, label: "battery", cls: "storage" },
  buildings: { x: 690, y: 120, label: "buildings", cls: "load" },
  ev: { x: 690, y: 280, label: "ev", cls: "ev" },
};
export const BUS = { x: 400, y: 200 };

export function flowDiagram() {
  const root = svg("svg", { viewBox: "0 0 800 400", class: "flow", role: "img", "aria-labelledby": "flow-title" });
  const links = {};
  for (const [id, n] of Object.entries(FLOW_NODES)) {
    // a path from the node to the bus; "rev" animates it the other way
    const d = id === "buildings" || id === "ev"
      ? `M${BUS.x},${BUS.y} C${BUS.x + 140},${BUS.y} ${n.x - 150},${n.y} ${n.x - 84},${n.y}`
      : id === "grid" ? `M${n.x + 84},${n.y} L${BUS.x},${BUS.y}` : `M${n.x},${n.y + (n.y < BUS.y ? 34 : -34)} L${BUS.x},${BUS.y}`;
    const base = svg("path", { d, class: "link-base" });
    const flow = svg("path", { d, class: `link link-${n.cls} idle` });
    flow.dataset.link = id;
    root.append(base, flow);
    links[id] = flow;
  }
  root.append(svg("circle", { cx: BUS.x, cy: BUS.y, r: 13, class: "bus" }));
  const loadText = el("span", "park-load num", "");
  loadText.id = "park-load";
  const nodes = {};
  for (const [id, n] of Object.entries(FLOW_NODES)) {
    const g = svg("g", { class: `node node-${n.cls}`, transform: `translate(${n.x - 84},${n.y - 34})` });
    g.dataset.node = id;
    g.append(svg("rect", { width: 168, height: 68, rx: 10 }));
    g.append(svg("text", { x: 12, y: 20, class: "node-label" }, t(n.label)));
    const value = svg("text", { x: 12, y: 44, class: "node-value" }, "—");
    value.dataset.flow = id;
    const sub = svg("text", { x: 12, y: 60, class: "node-sub" }, "");
    g.append(value, sub);
    root.append(g);
    nodes[id] = { value, sub };
  }
  return { root, links, nodes, loadText };
}

export function setLink(link, kw, outward) {
  // outward: power moves from the bus toward the node
  const idle = kw === null || !Number.isFinite(kw) || Math.abs(kw) < ACTIVE_KW;
  link.classList.toggle("idle", idle);
  link.classList.toggle("rev", !idle && outward);
  if (!idle) {
    const speed = Math.max(0.35, 2.4 - 0.6 * Math.log10(Math.max(1, Math.abs(kw))));
    link.style.animationDuration = `${speed.toFixed(2)}s`;
    link.style.strokeWidth = String(Math.min(9, 2.5 + 1.4 * Math.log10(Math.max(1, Math.abs(kw)))));
  } else {
    link.style.strokeWidth = "";
  }
}

export function soc() {
  let w = 0;
  let s = 0;
  for (const dev of state.devices.filter((d) => d.role === "storage")) {
    const r = reading(dev.id);
    if (!r || r.stale || !Number.isFinite(r.fields.soc_pct)) continue;
    const k = dev.capacity_kwh || 1;
    s += r.fields.soc_pct * k;
    w += k;
  }
  return w ? s / w : null;
}

export function updateFlow(fd) {
  const f = currentFlows();
  const kw = (v) => (v === null || v === undefined ? "—" : `${fmtKw(v)} kW`);
  const buildings = f.buildings;
  fd.nodes.grid.value.textContent = kw(f.grid);
  fd.nodes.grid.sub.textContent = f.grid === null ? t("no_data") : f.grid < -ACTIVE_KW ? t("exporting") : t("importing");
  setLink(fd.links.grid, f.grid, f.grid !== null && f.grid < 0);
  fd.nodes.pv.value.textContent = kw(f.pv);
  const kwp = state.devices.filter((d) => d.role === "pv").reduce((a, d) => a + (d.capacity_kw || 0), 0);
  fd.nodes.pv.sub.textContent = f.pv !== null && kwp ? t("of_kwp", fmtNum((100 * f.pv) / kwp, 0), fmtNum(kwp, 0)) : "";
  setLink(fd.links.pv, f.pv, false);
  fd.nodes.battery.value.textContent = kw(f.battery);
  const c = soc();
  const mode = f.battery === null ? t("no_data") : f.battery > ACTIVE_KW ? t("discharging") : f.battery < -ACTIVE_KW ? t("charging") : t("idle");
  fd.nodes.battery.sub.textContent = mode + (c !== null ? ` · ${t("soc", fmtNum(c, 0))}` : "");
  setLink(fd.links.battery, f.battery, f.battery !== null && f.battery < 0);
  fd.nodes.buildings.value.textContent = kw(buildings);
  fd.nodes.buildings.sub.textContent = t("n_buildings", state.buildings.size);
  setLink(fd.links.buildings, buildings, true);
  fd.nodes.ev.value.textContent = kw(f.ev);
  const ev = sumRole("ev_charging");
  fd.nodes.ev.sub.textContent = t("n_charging", ev.active, ev.total);
  setLink(fd.links.ev, f.ev, true);
  let onsite = "";
  if (f.load !== null && f.load > ACTIVE_KW) {
    const local = Math.max(0, f.pv || 0) + Math.max(0, f.battery || 0);
    onsite = ` · ${t("onsite", fmtNum(Math.min(100, (100 * local) / f.load), 0))}`;
  }
  fd.loadText.textContent = `${t("load")} ${kw(f.load)}${onsite}`;
  return f;
}

export async function loadToday(force) {
  const park = state.park.id;
  const day = localDate(serverNow());
  if (!force && state.today && state.today.park === park && state.today.day === day && Date.now() - state.today.at < TODAY_REFRESH_MS) return;
  const [energy, indicators] = await Promise.all([
    getJson(parkPath("/energy?every=day"), 30000),
    getJson(parkPath(`/indicators?period=${day}`), 30000),
  ]);
  state.today = { park, day, energy, indicators, at: Date.now() };
}

export async function loadTargets() {
  const park = state.park.id;
  if (state.targets && state.targets.park === park && Date.now() - state.targets.at < TARGETS_REFRESH_MS) return;
  const year = localDate(serverNow()).slice(0, 4);
  const byReads = new Map();
  let error = null;
  try {
    // the park's target profiles evaluated for the year, as the park report evaluates them
    const targets = await getJson(parkPath(`/targets?period=${year}&scope=park`), 60000);
    for (const block of targets.profiles || []) {
      for (const row of block.rows || []) {
        const prev = byReads.get(row.reads);
        // the first profile that gives a threshold wins; keep a row without one as "no threshold"
        if (!prev || (prev.threshold === null && row.threshold !== null)) {
          // the 910 core row's by_method stays with the indicator whichever profile's row wins
          byReads.set(row.reads, { ...row, by_method: row.by_method || (prev ? prev.by_method : null), profile: block.id });
        }
      }
    }
  } catch (err) {
    error = err.message;
  }
  state.targets = { park, year, byReads, error, at: Date.now() };
}

export const KPIS = ["tco2_per_tce", "clean_energy_share", "self_sufficiency_rate", "renewable_penetration", "renewable_share", "pv_self_consumption_rate"];

export function kpiTiles(host, indicators, targets) {
  host.replaceChildren();
  for (const name of KPIS) {
    const ind = indicator(indicators, name);
    const tile = el("article", "kpi");
    tile.dataset.kpi = name;
    tile.append(el("h3", "kpi-label", has(`ind_${name}`) ? t(`ind_${name}`) : name));
    tile.append(el("div", "kpi-value num", fmtIndicator(ind)));
    if (ind && ind.value === null && ind.reason) tile.title = reasonText(ind);
    const row = targets && targets.byReads ? targets.byReads.get(name) : null;
    const tgt = el("div", "kpi-target");
    if (targets && targets.error) {
      tgt.textContent = t("targets_unavailable", targets.error);
    } else if (!row || row.threshold === null || row.threshold === undefined) {
      tgt.textContent = t("no_threshold");
      tile.classList.add("kpi-none");
    } else {
      tgt.textContent = t("target", row.direction === "<=" ? "≤" : "≥", fmtThreshold(row)) + (row.example_threshold ? ` (${t("example")})` : "");
      if (ind && ind.value !== null && (ind.completeness_pct ?? 100) < state.minCompletenessPct) {
        // as the report's evaluation: no verdict on less measured data than the server asks
        tgt.append(" ", el("span", "badge", t("not_enough_data")));
      } else if (ind && ind.value !== null) {
        const ok = row.direction === "<=" ? ind.value <= row.threshold : ind.value >= row.threshold;
        const badge = el("span", `badge ${ok ? "ok" : "bad"}`, ok ? t("met") : t("not_met"));
        tgt.append(" ", badge);
        tile.classList.add(ok ? "kpi-ok" : "kpi-bad");
      }
    }
    tile.append(tgt);
    const other = !targets || targets.error ? null : otherMethod(row, targets.year);
    if (other) tile.append(other);
    const comp = el("div", "kpi-comp", ind && ind.completeness_pct !== null ? t("completeness", fmtNum(ind.completeness_pct, 0)) : "");
    tile.append(comp);
    host.append(tile);
  }
}

// The 910 core indicator under the electricity method the park's profile does not use: the
// year's value and its verdict, shown beside the profile's (which alone is the verdict).
export function otherMethod(row, year) {
  const m = row && row.by_method ? row.by_method.find((b) => !b.chosen) : null;
  if (!m) return null;
  const line = el("div", "kpi-method", t("by_method", t(`method_${m.method}`), year, fmtNum(m.value, 2), t(m.status)));
  line.dataset.method = m.method;
  line.title = m.reason ? `${t("by_method_title")} ${reasonText(m)}` : t("by_method_title");
  return line;
}

export function todayPanel(host, flows) {
  host.replaceChildren();
  const today = state.today;
  const list = el("dl", "today-list");
  const add = (label, value, note, key, title) => {
    const dt = el("dt", "", label);
    const dd = el("dd", "num", value);
    if (key) dd.dataset.today = key;
    if (note) dd.append(el("span", "today-note", note));
    if (title) dd.title = title;
    list.append(dt, dd);
  };
  const energy = today ? today.energy : null;
  const figs = ["grid_import_kwh", "grid_export_kwh", "pv_generation_kwh", "load_kwh", "ev_charging_kwh", "battery_charge_kwh", "battery_discharge_kwh"];
  for (const name of figs) {
    const f = energy ? energy.figures.find((x) => x.name === name) : null;
    if (energy && !f) continue;
    add(t(`fig_${name}`), f && f.total !== null ? `${fmtNum(f.total, 0)} kWh` : "—", f ? t("completeness", fmtNum(f.completeness_pct, 0)) : "", name);
  }
  const ind = today ? today.indicators : null;
  const s2 = indicator(ind, "scope2_location_tco2");
  const s1 = indicator(ind, "scope1_tco2");
  const total = s2 && s2.value !== null ? s2.value + (s1 && s1.value !== null ? s1.value : 0) : null;
  add(t("carbon_total"), total === null ? "—" : `${fmtNum(total, 3)} tCO2`,
    s1 && s1.value === null ? `${t("carbon_scope1")}: ${t("no_data")}` : "", "carbon");
  // carbon intensity now: grid import × the grid-average factor over the park's load
  const factor = s2 ? s2.factors.find((f) => f.name === "grid_average") : null;
  let intensity = "—";
  let note = t("carbon_needs");
  let source = "";
  if (factor && flows.grid !== null && flows.load !== null && flows.load > ACTIVE_KW) {
    const kg = Math.max(0, flows.grid) * factor.value; // kgCO2/h
    intensity = `${fmtNum(kg / flows.load, 3)} kgCO2/kWh`;
    note = `${t("carbon_rate", fmtNum(kg / 1000, 3))} · ${t("factor", factor.value, factor.unit)}`;
    const name = has(`factor.${factor.name}`) ? t(`factor.${factor.name}`) : factor.name;
    source = `${name}: ${factor.value} ${factor.unit} · ${factor.source} (${factor.year}, ${factor.region})`;
  }
  add(t("carbon_now"), intensity, note, "intensity", source);
  host.append(list);
}

export async function loadAlarms() {
  try {
    const body = await getJson(parkPath("/alarms?state=active"));
    const list = Array.isArray(body) ? body : body.alarms || body.items || [];
    state.alarms.clear();
    list.forEach(applyAlarm);
    state.alarmsAvailable = true;
  } catch (err) {
    if (handleAuth(err)) return;
    if (err instanceof HttpError && (err.status === 404 || err.status === 405)) state.alarmsAvailable = false;
    else if (state.alarmsAvailable === null) state.alarmsAvailable = false;
  }
}

export function alarmsPanel(host) {
  host.replaceChildren();
  if (state.alarmsAvailable === false && !state.alarms.size) {
    host.append(el("p", "muted alarms-na", t("alarms_na")));
    return;
  }
  if (!state.alarms.size) {
    host.append(el("p", "muted", state.alarmsAvailable === null ? t("loading") : t("alarms_none")));
    return;
  }
  const rank = { critical: 0, major: 1, warning: 2, minor: 3, info: 4 };
  const alarms = [...state.alarms.values()].sort((a, b) => (rank[a.severity] ?? 5) - (rank[b.severity] ?? 5));
  const ul = el("ul", "alarm-list");
  for (const a of alarms.slice(0, 30)) {
    const li = el("li", `alarm sev-${a.severity || "info"}`);
    li.dataset.alarm = String(a.id);
    const sev = has(`sev_${a.severity}`) ? t(`sev_${a.severity}`) : a.severity || "";
    li.append(el("span", "alarm-sev", sev));
    const text = el("div", "alarm-text");
    text.append(el("div", "alarm-msg", alarmMessage(a)));
    const when = a.raised_ms || a.time_ms || a.since_ms;
    const bits = [alarmKindLabel(a.kind), a.device, when ? fmtTime(when, { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }) : "", a.state === "acknowledged" ? t("acknowledged") : ""];
    text.append(el("div", "alarm-meta", bits.filter(Boolean).join(" · ")));
    li.append(text);
    ul.append(li);
  }
  host.append(ul);
}

export function viewOverview(gen) {
  setTab("overview");
  setCrumbs([]);
  const view = $("view");
  const grid = el("div", "ov");
  // flow
  const flowPanel = panel(t("power_flow"), "flow-panel");
  flowPanel.querySelector("h2").id = "flow-title";
  const fd = flowDiagram();
  flowPanel.querySelector(".panel-head").append(fd.loadText);
  flowPanel.append(fd.root);
  // today
  const todayP = panel(t("today"), "today-panel");
  const todayBody = el("div", "today-body");
  todayP.append(todayBody);
  // alarms
  const alarmP = panel(t("alarms"), "alarm-panel");
  alarmP.id = "alarms";
  const alarmBody = el("div", "alarm-body");
  alarmP.append(alarmBody);
  const side = el("div", "ov-side");
  side.append(alarmP, todayP); // alarms first: what needs a person now
  // kpis
  const kpiP = panel(t("kpis"), "kpi-panel");
  const kpiBody = el("div", "kpis");
  // which accounting profile the figures and the target verdicts use (GET /accounting/{year})
  const kpiProfile = el("p", "muted kpi-profile", "");
  kpiProfile.id = "kpi-profile";
  kpiP.append(kpiBody, kpiProfile);
  // buildings
  const bP = panel(t("all_buildings"), "bld-panel");
  const bBody = el("div", "bld-cards");
  bP.append(bBody);
  const bRows = [];
  for (const b of state.buildings.values()) {
    const card = el("a", "bld-card");
    card.href = `#/b/${encodeURIComponent(b.id)}`;
    card.dataset.building = b.id;
    card.append(el("div", "bld-name", b.name));
    const v = el("div", "bld-value num", "—");
    const sub = el("div", "bld-sub", t("n_floors", b.floors.length));
    card.append(v, sub);
    bBody.append(card);
    const feeder = state.devices.find((d) => d.role === "feeder" && d.building === b.id);
    bRows.push({ feeder, v });
  }
  // devices by role
  const dP = panel(t("devices"), "dev-panel");
  const dBody = el("div", "dev-groups");
  dP.append(dBody);
  const groups = [];
  for (const role of ["grid_connection", "feeder", "pv", "storage", "ev_charging", "load", "gas", "environment"]) {
    const devs = state.devices.filter((d) => d.role === role);
    if (!devs.length) continue;
    const g = el("section", `dev-group group-${role}${devs.length > 12 ? " group-wide" : ""}`);
    g.dataset.role = role;
    const head = el("header", "group-head");
    const total = el("span", "group-total num", "");
    const meta = el("span", "group-meta", "");
    head.append(el("h3", "", roleLabel(role)), total, meta);
    const list = el("div", "dev-list");
    const rows = devs.map((d) => deviceRow(d));
    rows.forEach((r) => list.append(r.row));
    g.append(head, list);
    dBody.append(g);
    groups.push({ role, devs, rows, total, meta });
  }
  grid.append(flowPanel, side, kpiP, bP, dP);
  view.replaceChildren(grid);

  const renderSlow = () => {
    const flows = currentFlows();
    todayPanel(todayBody, flows);
    kpiTiles(kpiBody, state.today ? state.today.indicators : null, state.targets);
    kpiProfile.textContent = profileText(state.today ? state.today.indicators : null);
  };
  let lastSlow = 0;
  const tickView = () => {
    const flows = updateFlow(fd);
    for (const b of bRows) {
      const r = b.feeder ? reading(b.feeder.id) : null;
      b.v.textContent = r && !r.stale && Number.isFinite(r.fields.power_kw) ? `${fmtKw(r.fields.power_kw)} kW` : "—";
    }
    for (const g of groups) {
      const scale = deviceScale(g.devs);
      g.rows.forEach((r) => updateDeviceRow(r, scale));
      const s = sumRole(g.role);
      g.total.textContent = s.sum === null ? "" : `${fmtKw(s.sum)} kW`;
      const staleN = g.devs.filter((d) => !reading(d.id) || reading(d.id).stale).length;
      g.meta.textContent = t("n_devices", g.devs.length) + (staleN > 0 ? ` · ${t("n_stale", staleN)}` : "");
    }
    alarmsPanel(alarmBody);
    if (Date.now() - lastSlow > 5000) {
      lastSlow = Date.now();
      if (flows) renderSlow();
    }
  };
  state.view = { tick: tickView };
  tickView();
  const refresh = async () => {
    if (gen !== state.viewGen) return;
    try {
      await loadToday(false);
    } catch (err) {
      if (handleAuth(err)) return;
    }
    if (gen !== state.viewGen) return;
    renderSlow();
    await loadTargets();
    if (gen !== state.viewGen) return;
    renderSlow();
    setTimeout(refresh, TODAY_REFRESH_MS);
  };
  loadAlarms().then(() => gen === state.viewGen && alarmsPanel(alarmBody));
  refresh();
}
