// Tenants (#/tenants) and a tenant (#/t/<tenant>): power now, this month's indicators, daily
// energy, devices, report downloads.

import { HttpError, getJson, handleAuth, parkPath, request } from "../api.js";
import { dailyPanel, seriesPanel } from "../charts.js";
import { deviceRow, deviceScale, updateDeviceRow } from "../devices.js";
import { $, el, svg } from "../dom.js";
import { buildingName, fmtAuto, fmtKw, fmtNum, localDate, serverNow } from "../format.js";
import { has, reasonText, t } from "../i18n.js";
import { fmtIndicator, indicator, profileText } from "../indicators.js";
import { reading } from "../live.js";
import { notFound, panel, setCrumbs, setTab, showRefusal } from "../page.js";
import { state } from "../state.js";

export function viewTenants() {
  setTab("tenant");
  if (state.role === "tenant") {
    window.location.replace(`#/t/${encodeURIComponent(ownTenant())}`);
    return;
  }
  setCrumbs([[state.park.name, "#/"], [t("tenants_title"), null]]);
  const p = panel(t("tenants_title"), "");
  const table = el("table", "floors");
  const hr = el("tr");
  for (const h of [t("tenant"), t("sector"), t("occupies"), t("power_now")]) hr.append(el("th", "", h));
  const thead = el("thead");
  thead.append(hr);
  const tbody = el("tbody");
  const rows = [];
  for (const tn of state.tenants.values()) {
    const tr = el("tr");
    tr.dataset.tenant = tn.id;
    const a = el("a", "", tn.name);
    a.href = `#/t/${encodeURIComponent(tn.id)}`;
    const c0 = el("td");
    c0.append(a);
    const floors = [];
    for (const b of state.buildings.values()) for (const f of b.floors) if (f.tenant === tn.id) floors.push(`${buildingName(b.id)} ${t("floor_n", f.number)}`);
    const v = el("td", "num", "—");
    tr.append(c0, el("td", "", tn.sector || ""), el("td", "", floors.join(", ")), v);
    tbody.append(tr);
    rows.push({ devs: tenantMeters(tn.id), v });
  }
  table.append(thead, tbody);
  const tw = el("div", "table-wrap");
  tw.append(table);
  p.append(tw);
  $("view").replaceChildren(p);
  state.view = {
    tick() {
      for (const r of rows) {
        const kw = tenantPower(r.devs);
        r.v.textContent = kw === null ? "—" : `${fmtKw(kw)} kW`;
      }
    },
  };
  state.view.tick();
}

// the tenant's highest power meters (a feeder or its floor loads)
export function tenantMeters(id) {
  const own = state.devices.filter((d) => d.tenant === id && d.fields.some((f) => f.name === "power_kw"));
  return own.filter((d) => !own.some((p) => p.id === d.parent));
}
export function tenantPower(devs) {
  let sum = null;
  for (const d of devs) {
    const r = reading(d.id);
    if (r && !r.stale && Number.isFinite(r.fields.power_kw)) sum = (sum || 0) + r.fields.power_kw;
  }
  return sum;
}
export function ownTenant() {
  return [...state.tenants.keys()][0];
}

export const TENANT_INDICATORS = ["comprehensive_energy_tce", "scope2_location_tco2", "scope1_tco2", "tco2_per_tce", "renewable_electricity_share", "kgco2_per_m2", "peak_demand_kw", "electricity_cost_cny"];

export function viewTenant(id, gen) {
  setTab("tenant");
  // a tenant key sees its own tenant only: refuse before asking the server for anything
  if (!state.tenants.has(id)) {
    if (state.role === "tenant" || state.role === null) return showRefusal(t("refused_tenant", id));
    return notFound(id);
  }
  const tn = state.tenants.get(id);
  const crumbs = state.role === "tenant" ? [[state.park.name, null], [tn.name, null]] : [[state.park.name, "#/"], [t("tenants_title"), "#/tenants"], [tn.name, null]];
  setCrumbs(crumbs);
  const wrap = el("div", "drill tenant-page");
  wrap.dataset.tenant = id;
  const head = panel(tn.name, "drill-head");
  const floors = [];
  for (const b of state.buildings.values()) {
    for (const f of b.floors) {
      if (f.tenant !== id) continue;
      const a = el("a", "", `${buildingName(b.id)} · ${t("floor_n", f.number)}`);
      a.href = state.role === "tenant" ? "#" : `#/b/${encodeURIComponent(b.id)}/f/${f.number}`;
      floors.push(a);
    }
  }
  const facts = el("dl", "facts");
  facts.append(el("dt", "", t("sector")), el("dd", "", tn.sector || "—"), el("dt", "", t("occupies")));
  const fl = el("dd");
  floors.forEach((a, i) => {
    if (i) fl.append(", ");
    if (state.role === "tenant") fl.append(a.textContent);
    else fl.append(a);
  });
  facts.append(fl);
  const now = el("div", "big num", "—");
  head.append(facts, el("div", "muted", t("power_now")), now);
  // indicators of this month
  const month = localDate(serverNow()).slice(0, 7);
  const indP = panel(t("month_indicators", month), "kpi-panel");
  const indBody = el("div", "kpis");
  indBody.id = "tenant-indicators";
  const indProfile = el("p", "muted kpi-profile", "");
  indP.append(indBody, indProfile);
  // devices
  const devs = state.devices.filter((d) => d.tenant === id);
  const devP = panel(t("devices"), "");
  const list = el("div", "dev-list");
  const rows = devs.map((d) => deviceRow(d));
  rows.forEach((r) => list.append(r.row));
  devP.append(list);
  // reports
  const repP = panel(t("reports"), "reports-panel");
  repP.id = "reports";
  const year = Number(localDate(serverNow()).slice(0, 4));
  const form = el("div", "report-row");
  const yl = el("label", "", `${t("year")} `);
  const ys = el("select");
  ys.id = "report-year";
  for (const y of [year, year - 1, year - 2]) {
    const o = el("option", "", String(y));
    o.value = String(y);
    ys.append(o);
  }
  yl.append(ys);
  form.append(yl);
  const msg = el("span", "muted", "");
  for (const fmt of ["pdf", "html", "csv", "json"]) {
    const btn = el("button", "dl", fmt.toUpperCase());
    btn.type = "button";
    btn.dataset.format = fmt;
    btn.addEventListener("click", () => downloadReport(id, ys.value, fmt, msg));
    form.append(btn);
  }
  form.append(msg);
  repP.append(form);
  const charts = el("div", "charts");
  wrap.append(head, indP, charts, devP, repP);
  $("view").replaceChildren(wrap);
  dailyPanel(charts, `tenant:${id}`, 30, gen, "electricity_kwh");
  const meters = tenantMeters(id);
  if (meters.length === 1) seriesPanel(charts, meters[0], "power_kw", "kW", gen);
  savingsPanel(charts, id, gen);
  getJson(parkPath(`/indicators?period=${month}&scope=${encodeURIComponent(`tenant:${id}`)}`), 30000)
    .then((ind) => {
      if (gen !== state.viewGen) return;
      indBody.replaceChildren();
      for (const name of TENANT_INDICATORS) {
        const i = indicator(ind, name);
        if (!i) continue;
        const tile = el("article", "kpi");
        tile.dataset.kpi = name;
        tile.append(el("h3", "kpi-label", has(`ind_${name}`) ? t(`ind_${name}`) : name), el("div", "kpi-value num", fmtIndicator(i)));
        tile.append(el("div", "kpi-comp", i.value === null ? reasonText(i) : t("completeness", fmtNum(i.completeness_pct || 0, 0))));
        if (i.value === null) tile.classList.add("kpi-none");
        const basis = basisNote(i, month);
        if (basis) tile.append(el("div", "kpi-basis", basis));
        indBody.append(tile);
      }
      indProfile.textContent = profileText(ind);
    })
    .catch((err) => {
      if (handleAuth(err)) return;
      if (err instanceof HttpError && err.status === 403) {
        showRefusal(t("refused_tenant", id));
        return;
      }
      indBody.textContent = err.message;
    });
  state.view = {
    tick() {
      const kw = tenantPower(meters);
      now.textContent = kw === null ? "—" : `${fmtKw(kw)} kW`;
      const scale = deviceScale(devs);
      rows.forEach((r) => updateDeviceRow(r, scale));
    },
  };
  state.view.tick();
}

export async function downloadReport(tenant, year, fmt, msg) {
  msg.textContent = t("downloading");
  try {
    const response = await request(parkPath(`/tenants/${encodeURIComponent(tenant)}/reports/${year}?format=${fmt}&lang=${state.lang}`), 120000);
    const blob = await response.blob();
    const cd = response.headers.get("Content-Disposition") || "";
    const m = /filename="([^"]+)"/.exec(cd);
    const a = el("a");
    a.href = URL.createObjectURL(blob);
    a.download = m ? m[1] : `${tenant}-${year}.${fmt}`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 60000);
    msg.textContent = a.download;
  } catch (err) {
    if (handleAuth(err)) return;
    msg.textContent = t("download_failed", err.message);
  }
}

// What a figure of a month still in progress stands for (docs/dashboard.md, "Plausibility rules"):
// the peak so far, and a cost carrying the whole month's demand charge on that peak.
export function basisNote(ind, month) {
  if (!ind || ind.value === null || month !== localDate(serverNow()).slice(0, 7)) return "";
  if (ind.name === "peak_demand_kw") return t("basis_peak_mtd");
  if (ind.name !== "electricity_cost_cny") return "";
  const demand = ind.detail ? ind.detail.demand_cny : null;
  if (demand === null || demand === undefined) return t("basis_cost_mtd");
  return t("basis_cost_mtd_demand", fmtNum(demand, 0));
}

// Savings chart (staff keys; a tenant key may not read baselines): the tenant's newest baseline,
// its reporting period period by period — the adjusted baseline with the ± band of one period
// (ASHRAE Guideline 14, docs/baselines.md) and the actual — and the claim over the period.
export function savingsPanel(host, id, gen) {
  if (state.role === "tenant") return;
  getJson(parkPath("/baselines"), 30000)
    .then((list) => {
      const mine = (list.baselines || []).filter((b) => b.scope === `tenant:${id}`);
      if (gen !== state.viewGen || !mine.length) return null;
      const newest = mine.reduce((a, b) => (b.created_ms > a.created_ms ? b : a));
      return getJson(parkPath(`/baselines/${encodeURIComponent(newest.id)}/series`), 60000);
    })
    .then((s) => {
      if (!s || gen !== state.viewGen) return;
      const p = panel(t("savings_title"), "savings-panel");
      p.dataset.baseline = s.id;
      const box = el("div", "chart-box");
      p.append(box);
      const verdict = s.savings === null ? t("savings_no_data") : t(s.claimed ? "savings_claimed" : "savings_refused", fmtAuto(s.savings), fmtAuto(s.uncertainty), s.unit);
      p.append(el("p", "muted savings-verdict", `${s.id} · ${verdict}`));
      host.append(p);
      drawSavings(box, s);
    })
    .catch((err) => {
      if (handleAuth(err)) return;
      if (err instanceof HttpError && (err.status === 403 || err.status === 404 || err.status === 422)) return;
    });
}

function drawSavings(host, s) {
  const width = Math.max(240, Math.floor(host.clientWidth) || 640);
  const H = 220;
  const P = { l: 56, r: 14, t: 24, b: 28 };
  const root = svg("svg", { viewBox: `0 0 ${width} ${H}`, width, height: H, class: "chart", role: "img", "aria-label": t("savings_title") });
  const n = s.time_ms.length;
  if (!n) {
    root.append(svg("text", { x: width / 2, y: H / 2, "text-anchor": "middle", class: "chart-empty" }, t("savings_no_data")));
    host.append(root);
    return;
  }
  const hi = Math.max(...s.baseline.map((v) => v + s.band), ...s.actual);
  const lo = Math.min(0, ...s.baseline.map((v) => v - s.band), ...s.actual);
  const pw = width - P.l - P.r;
  const ph = H - P.t - P.b;
  const x = (i) => P.l + (n === 1 ? pw / 2 : (i / (n - 1)) * pw);
  const y = (v) => P.t + ph - ((v - lo) / (hi - lo || 1)) * ph;
  for (const v of [lo, (lo + hi) / 2, hi]) {
    root.append(svg("line", { x1: P.l, x2: width - P.r, y1: y(v), y2: y(v), class: "grid-line" }));
    root.append(svg("text", { x: P.l - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" }, fmtAuto(v)));
  }
  const up = s.baseline.map((v, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(v + s.band).toFixed(1)}`).join("");
  const down = s.baseline.map((v, i) => `L${x(i).toFixed(1)},${y(v - s.band).toFixed(1)}`).reverse().join("");
  root.append(svg("path", { d: `${up}${down}Z`, class: "savings-band", style: "fill: var(--feeder); opacity: 0.18; stroke: none;" }));
  const line = (vals) => vals.map((v, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join("");
  root.append(svg("path", { d: line(s.baseline), class: "line savings-baseline", style: "stroke-dasharray: 5 3;" }));
  root.append(svg("path", { d: line(s.actual), class: "line grid_connection savings-actual" }));
  const days = new Intl.DateTimeFormat(state.lang === "en" ? "en-GB" : "zh-CN", { month: "numeric", day: "numeric" });
  for (const i of [0, Math.floor((n - 1) / 2), n - 1]) {
    root.append(svg("text", { x: x(i), y: H - 8, "text-anchor": "middle", class: "tick" }, days.format(new Date(s.time_ms[i]))));
  }
  root.append(svg("text", { x: P.l, y: 14, class: "tick" }, `- - ${t("savings_baseline")} ±${fmtAuto(s.band)} ${s.unit}   —— ${t("savings_actual")}`));
  host.append(root);
}
