// Every park the key sees, side by side, scored and ranked (#/city): one request to
// /city/indicators (the server computes the parks concurrently), a ranking chart of the top
// parks by score, the table, and the city report for download.

import { getJson, handleAuth, request } from "../api.js";
import { $, el, svg } from "../dom.js";
import { fmtAuto, fmtNum, fmtPct, fmtTime, localDate, serverNow } from "../format.js";
import { has, reasonText, regionLabel, t } from "../i18n.js";
import { fmtIndicator, indicator } from "../indicators.js";
import { panel, setCrumbs, setTab, showRefusal } from "../page.js";
import { API, state } from "../state.js";

export const CITY_COLUMNS = ["comprehensive_energy_tce", "scope2_location_tco2", "tco2_per_tce", "clean_energy_share", "renewable_share", "self_sufficiency_rate", "pv_self_consumption_rate", "peak_demand_kw"];
// the city's own figures (per mu, value added): keys of each park's `figures`
export const CITY_FIGURES = [
  ["energy_per_mu_tce", "tce/mu"],
  ["output_per_mu_10k_cny", "10k CNY/mu"],
];
export const RANKING_PARKS = 20; // as many as the city's 产业名园 selection picks
// the city view and report of a period not asked before (and not warmed up at the server's
// start) compute every park: bench.city measured 104–137 s for 100 parks (docs/benchmarks.md);
// then 2–3.5 s
const CITY_TIMEOUT_MS = 300000;

function fmtFigure(value, unit) {
  if (value === null || value === undefined) return "—";
  if (unit === "fraction") return fmtPct(value, 1);
  return `${fmtAuto(value)} ${t(`city_unit_${unit}`)}`;
}

function rankChart(host, parks) {
  host.replaceChildren();
  const ranked = parks.filter((p) => p.rank !== null).sort((a, b) => a.rank - b.rank || a.id.localeCompare(b.id)).slice(0, RANKING_PARKS);
  const row = 22;
  const labelW = 190;
  const width = Math.max(320, Math.floor(host.clientWidth) || 640);
  const height = 8 + row * Math.max(ranked.length, 1);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "chart", role: "img", "aria-label": t("city_chart", ranked.length) });
  root.id = "city-rank-chart";
  const top = Math.max(1e-9, ...ranked.map((p) => p.score || 0));
  const span = width - labelW - 70;
  ranked.forEach((p, i) => {
    const y = 4 + i * row;
    const name = p.name.length > 26 ? `${p.name.slice(0, 25)}…` : p.name;
    root.append(svg("text", { x: labelW - 6, y: y + 14, "text-anchor": "end", class: "tick" }, `${p.rank}. ${name}`));
    const w = (span * Math.max(0, p.score || 0)) / top;
    const bar = svg("rect", { x: labelW, y: y + 3, width: Math.max(1, w), height: row - 8, class: "col" });
    bar.dataset.park = p.id;
    bar.append(svg("title", {}, `${p.name}: ${fmtNum(p.score, 1)} ${t("city_points")}`));
    root.append(bar);
    root.append(svg("text", { x: labelW + w + 6, y: y + 14, class: "tick" }, fmtNum(p.score, 1)));
  });
  if (!ranked.length) root.append(svg("text", { x: width / 2, y: height / 2 + 4, "text-anchor": "middle", class: "chart-empty" }, t("chart_empty")));
  host.append(root);
}

async function downloadCityReport(period, fmt, msg) {
  msg.textContent = t("downloading");
  try {
    const response = await request(`${API}/city/reports/${period}?format=${fmt}&lang=${state.lang}`, CITY_TIMEOUT_MS);
    const blob = await response.blob();
    const m = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    const a = el("a");
    a.href = URL.createObjectURL(blob);
    a.download = m ? m[1] : `city-${period}.${fmt}`;
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

export function viewCity(gen, periodKind) {
  setTab("city");
  if (state.role === "tenant") return showRefusal(t("refused_other"));
  setCrumbs([[t("city_title"), null]]);
  const kind = periodKind || "day";
  const p = panel(t("city_title"), "city-panel");
  const ctl = el("div", "report-row");
  const lab = el("label", "", `${t("period")} `);
  const sel = el("select");
  sel.id = "city-period";
  for (const k of ["day", "month", "year"]) {
    const o = el("option", "", t(`period_${k}`));
    o.value = k;
    o.selected = k === kind;
    sel.append(o);
  }
  sel.addEventListener("change", () => {
    state.viewGen += 1;
    viewCity(state.viewGen, sel.value);
  });
  lab.append(sel);
  ctl.append(lab, el("span", "muted", t("city_note")));
  const day = localDate(serverNow());
  const period = kind === "day" ? day : kind === "month" ? day.slice(0, 7) : day.slice(0, 4);
  // the city report of the same period
  const rep = el("div", "report-row");
  rep.id = "city-reports";
  rep.append(el("span", "", `${t("city_report")} `));
  const msg = el("span", "muted", "");
  for (const fmt of ["pdf", "html", "csv", "json"]) {
    const btn = el("button", "dl", fmt.toUpperCase());
    btn.type = "button";
    btn.dataset.format = fmt;
    btn.addEventListener("click", () => downloadCityReport(period, fmt, msg));
    rep.append(btn);
  }
  rep.append(msg);
  const chartHost = el("div", "city-chart");
  chartHost.append(el("h3", "", t("city_chart", RANKING_PARKS)));
  const chart = el("div");
  chartHost.append(chart);
  const table = el("table", "city");
  table.id = "city-table";
  const hr = el("tr");
  hr.append(el("th", "", t("col_park")));
  for (const c of CITY_COLUMNS) hr.append(el("th", "num", has(`ind_${c}`) ? t(`ind_${c}`) : c));
  for (const [f] of CITY_FIGURES) hr.append(el("th", "num", t(`city_fig_${f}`)));
  hr.append(el("th", "num", t("city_score")), el("th", "num", t("city_trend")), el("th", "num", t("col_complete")));
  const thead = el("thead");
  thead.append(hr);
  const tbody = el("tbody");
  const cells = new Map();
  for (const pk of state.parks) {
    const tr = el("tr");
    tr.dataset.park = pk.id;
    const a = el("a", "", pk.name);
    a.href = `?park=${encodeURIComponent(pk.id)}#/`;
    const c0 = el("td");
    const rank = el("span", "city-rank", "");
    c0.append(rank, a, el("div", "dev-sub", `${t("n_devices", pk.devices)} · ${regionLabel(pk.grid_region)}`));
    tr.append(c0);
    const row = { _rank: rank };
    for (const c of [...CITY_COLUMNS, ...CITY_FIGURES.map(([f]) => f), "_score", "_trend", "_comp"]) {
      const td = el("td", "num", "…");
      tr.append(td);
      row[c] = td;
    }
    tbody.append(tr);
    cells.set(pk.id, row);
  }
  table.append(thead, tbody);
  const tw = el("div", "table-wrap");
  tw.append(table);
  // the first evaluation of a period computes every park (minutes for a hundred); after that the
  // server answers from each park's kept report until its data change (docs/city.md)
  const waiting = el("p", "muted", t("city_computing"));
  waiting.id = "city-waiting";
  const asOf = el("p", "muted");
  asOf.id = "city-as-of";
  p.append(ctl, rep, waiting, asOf, chartHost, tw);
  $("view").replaceChildren(p);
  state.view = null;
  getJson(`${API}/city/indicators?period=${period}`, CITY_TIMEOUT_MS)
    .then((city) => {
      waiting.remove();
      if (gen !== state.viewGen) return;
      asOf.textContent = asOfLine(city);
      rankChart(chart, city.parks);
      for (const c of CITY_COLUMNS) {
        const max = Math.max(0, ...city.parks.map((pk) => Math.abs((indicator(pk, c) || {}).value || 0)));
        for (const pk of city.parks) {
          const row = cells.get(pk.id);
          if (!row) continue;
          const i = indicator(pk, c);
          const td = row[c];
          td.replaceChildren();
          td.append(el("span", "", fmtIndicator(i)));
          if (i && i.value !== null && max > 0) {
            const bar = el("div", "mini");
            const fill = el("div", "mini-fill");
            fill.style.width = `${(100 * Math.abs(i.value)) / max}%`;
            bar.append(fill);
            td.append(bar);
          }
          td.title = i && i.value === null ? reasonText(i) : "";
        }
      }
      for (const pk of city.parks) {
        const row = cells.get(pk.id);
        if (!row) continue;
        row._rank.textContent = pk.rank !== null ? `${pk.rank}. ` : "";
        for (const [f, unit] of CITY_FIGURES) {
          const v = pk.figures ? pk.figures[f] : null;
          row[f].textContent = fmtFigure(v, unit);
          const reasons = (state.lang !== "en" && pk.figure_reasons_zh) || pk.figure_reasons || {};
          row[f].title = v === null || v === undefined ? reasons[f] || "" : "";
        }
        row._score.textContent = pk.score === null ? "—" : fmtNum(pk.score, 1);
        const tr = pk.trend;
        row._trend.textContent = !tr || tr.rank_change === null ? "—" : tr.rank_change > 0 ? `▲${tr.rank_change}` : tr.rank_change < 0 ? `▼${-tr.rank_change}` : "=";
        if (tr && tr.rank !== null) row._trend.title = t("city_was", tr.period, tr.rank);
        row._score.title = pk.as_of_ms ? t(pk.stale ? "city_park_stale" : "city_park_as_of", when(pk.as_of_ms, pk.timezone)) : "";
        const comps = pk.indicators.map((i) => i.completeness_pct).filter((v) => v !== null);
        row._comp.textContent = comps.length ? `${fmtNum(Math.min(...comps), 0)}–${fmtNum(Math.max(...comps), 0)} %` : "—";
        if (pk.error) {
          for (const c of [...CITY_COLUMNS, ...CITY_FIGURES.map(([f]) => f), "_score", "_trend"]) row[c].textContent = "";
          row._comp.textContent = t("city_error", (state.lang !== "en" && pk.error_zh) || pk.error);
          row._comp.classList.add("city-error");
        }
      }
    })
    .catch((err) => {
      if (gen !== state.viewGen) return;
      if (handleAuth(err)) return;
      // a request given up on: the server goes on and keeps each park it finishes
      const why = err.name === "AbortError" ? t("city_timeout") : err.message;
      waiting.textContent = why;
      for (const row of cells.values()) {
        for (const c of [...CITY_COLUMNS, ...CITY_FIGURES.map(([f]) => f), "_score", "_trend"]) row[c].textContent = "";
        row._comp.textContent = why;
      }
    });
}

function when(ms, zone) {
  // in the park's own zone, named: the city page has no one park whose zone it shows
  return fmtTime(ms, { timeZone: zone || "UTC", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
}

// when the figures were computed; a live period gives a park's kept figures (at most
// city.stale_s old) while fresh ones are computed for the next look (docs/city.md)
function asOfLine(city) {
  const parks = city.parks.filter((pk) => pk.as_of_ms);
  if (!parks.length) return "";
  const oldest = parks.reduce((a, b) => (b.as_of_ms < a.as_of_ms ? b : a));
  const stale = parks.filter((pk) => pk.stale).length;
  const at = when(oldest.as_of_ms, oldest.timezone);
  return stale ? t("city_stale", stale, at, Math.round(city.stale_s / 60)) : t("city_as_of", at);
}
