// Charts, hand-built SVG (no chart library), and the panels that fill them from /series (at
// most one point per pixel) and /energy (daily bars; a day below the completeness a verdict
// needs is drawn as partial).

import { getJson, handleAuth, parkPath } from "./api.js";
import { el, svg } from "./dom.js";
import { fmtAuto, fmtEvery, fmtNum, fmtTime, niceCeil, serverNow, tz } from "./format.js";
import { fieldLabel, t } from "./i18n.js";
import { DAY_MS, state } from "./state.js";

export const CHART_H = 220;
export const PAD = { l: 56, r: 14, t: 12, b: 28 };

export function plotWidth(host) {
  return Math.max(120, Math.floor(host.clientWidth) - PAD.l - PAD.r);
}

export function yTicks(min, max) {
  const span = niceCeil((max - min) / 4 || 1);
  const lo = Math.floor(min / span) * span;
  const ticks = [lo];
  while (ticks[ticks.length - 1] < max - span * 0.001 || ticks.length < 2) ticks.push(lo + ticks.length * span);
  return ticks;
}

export function lineChart(host, points, opts) {
  host.replaceChildren();
  const width = Math.max(200, Math.floor(host.clientWidth));
  const pw = width - PAD.l - PAD.r;
  const ph = CHART_H - PAD.t - PAD.b;
  const root = svg("svg", { viewBox: `0 0 ${width} ${CHART_H}`, width, height: CHART_H, class: "chart", role: "img", "aria-label": opts.label });
  const values = points.map((p) => p.value).filter((v) => v !== null && Number.isFinite(v));
  if (!values.length) {
    root.append(svg("text", { x: width / 2, y: CHART_H / 2, "text-anchor": "middle", class: "chart-empty" }, t("chart_empty")));
    host.append(root);
    return;
  }
  let min = Math.min(0, ...values);
  let max = Math.max(...values);
  if (max === min) max = min + 1;
  const ticks = yTicks(min, max);
  min = Math.min(min, ticks[0]);
  max = ticks[ticks.length - 1];
  const x = (ms) => PAD.l + ((ms - opts.start) / (opts.end - opts.start)) * pw;
  const y = (v) => PAD.t + ph - ((v - min) / (max - min)) * ph;
  for (const v of ticks) {
    root.append(svg("line", { x1: PAD.l, x2: width - PAD.r, y1: y(v), y2: y(v), class: v === 0 ? "axis zero" : "grid-line" }));
    root.append(svg("text", { x: PAD.l - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" }, fmtAuto(v)));
  }
  const hour = 3600000;
  const stepH = Math.max(1, Math.ceil(((opts.end - opts.start) / hour) / Math.max(2, Math.floor(pw / 90))));
  for (let ms = Math.ceil(opts.start / hour) * hour; ms < opts.end; ms += hour) {
    const h = Number(new Intl.DateTimeFormat("en-GB", { timeZone: tz(), hour: "2-digit", hourCycle: "h23" }).format(new Date(ms)));
    if (h % stepH) continue;
    root.append(svg("line", { x1: x(ms), x2: x(ms), y1: PAD.t + ph, y2: PAD.t + ph + 4, class: "axis" }));
    root.append(svg("text", { x: x(ms), y: CHART_H - 8, "text-anchor": "middle", class: "tick" }, fmtTime(ms, { hour: "2-digit", minute: "2-digit" })));
  }
  // gaps: a jump of more than 3 buckets (or 2.5 times the usual spacing, for devices that
  // report more slowly than the buckets) breaks the line
  const deltas = [];
  for (let i = 1; i < points.length; i++) deltas.push(points[i].time_ms - points[i - 1].time_ms);
  deltas.sort((a, b) => a - b);
  const usual = deltas.length ? deltas[Math.floor(deltas.length / 2)] : 0;
  const gap = Math.max((opts.everyS || 60) * 3000, 2.5 * usual);
  let d = "";
  let prev = null;
  for (const p of points) {
    if (p.value === null || !Number.isFinite(p.value)) {
      prev = null;
      continue;
    }
    d += `${prev === null || p.time_ms - prev > gap ? "M" : "L"}${x(p.time_ms).toFixed(1)},${y(p.value).toFixed(1)}`;
    prev = p.time_ms;
  }
  root.append(svg("path", { d, class: `line ${opts.cls || ""}` }));
  // hover read-out
  const cursor = svg("line", { y1: PAD.t, y2: PAD.t + ph, class: "cursor", visibility: "hidden" });
  const readout = svg("text", { y: PAD.t + 12, class: "readout", visibility: "hidden" });
  root.append(cursor, readout);
  root.addEventListener("mousemove", (event) => {
    const box = root.getBoundingClientRect();
    const ms = opts.start + ((event.clientX - box.left - PAD.l) / pw) * (opts.end - opts.start);
    let best = null;
    for (const p of points) if (p.value !== null && (best === null || Math.abs(p.time_ms - ms) < Math.abs(best.time_ms - ms))) best = p;
    if (!best) return;
    const px = x(best.time_ms);
    cursor.setAttribute("x1", px);
    cursor.setAttribute("x2", px);
    readout.setAttribute("x", Math.min(px + 6, width - 150));
    readout.textContent = `${fmtTime(best.time_ms, { hour: "2-digit", minute: "2-digit" })}  ${fmtAuto(best.value)} ${opts.unit || ""}`;
    cursor.setAttribute("visibility", "visible");
    readout.setAttribute("visibility", "visible");
  });
  root.addEventListener("mouseleave", () => {
    cursor.setAttribute("visibility", "hidden");
    readout.setAttribute("visibility", "hidden");
  });
  host.append(root);
}

export function barChart(host, periods, opts) {
  host.replaceChildren();
  const width = Math.max(200, Math.floor(host.clientWidth));
  const pw = width - PAD.l - PAD.r;
  const ph = CHART_H - PAD.t - PAD.b;
  const root = svg("svg", { viewBox: `0 0 ${width} ${CHART_H}`, width, height: CHART_H, class: "chart", role: "img", "aria-label": opts.label });
  const values = periods.map((p) => p.value).filter((v) => v !== null && Number.isFinite(v));
  if (!values.length) {
    root.append(svg("text", { x: width / 2, y: CHART_H / 2, "text-anchor": "middle", class: "chart-empty" }, t("chart_empty")));
    host.append(root);
    return;
  }
  const ticks = yTicks(Math.min(0, ...values), Math.max(...values, 1));
  const min = ticks[0];
  const max = ticks[ticks.length - 1];
  const y = (v) => PAD.t + ph - ((v - min) / (max - min)) * ph;
  for (const v of ticks) {
    root.append(svg("line", { x1: PAD.l, x2: width - PAD.r, y1: y(v), y2: y(v), class: v === 0 ? "axis zero" : "grid-line" }));
    root.append(svg("text", { x: PAD.l - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" }, fmtAuto(v)));
  }
  const slot = pw / periods.length;
  const labelEvery = Math.ceil(periods.length / Math.max(1, Math.floor(pw / 48)));
  periods.forEach((p, i) => {
    const x0 = PAD.l + i * slot + slot * 0.15;
    if (p.value !== null && Number.isFinite(p.value)) {
      const top = y(Math.max(0, p.value));
      const bottom = y(Math.min(0, p.value));
      const complete = p.completeness_pct >= state.minCompletenessPct;
      const bar = svg("rect", { x: x0, y: top, width: slot * 0.7, height: Math.max(1, bottom - top), class: `col${complete ? "" : " partial"}` });
      bar.append(svg("title", {}, `${p.label}: ${fmtAuto(p.value)} ${opts.unit} · ${t("completeness", fmtNum(p.completeness_pct, 0))}`));
      root.append(bar);
    }
    if (i % labelEvery === 0) {
      root.append(svg("text", { x: x0 + slot * 0.35, y: CHART_H - 8, "text-anchor": "middle", class: "tick" }, p.label.slice(5)));
    }
  });
  host.append(root);
}

// a power (or other field) chart of the last 24 h, never asking for more points than pixels
export async function seriesPanel(host, dev, field, unit, gen) {
  const panel = el("section", "panel chart-panel");
  const head = el("div", "panel-head");
  const title = el("h2", "", field === "power_kw" ? t("power_24h") : t("field_24h", fieldLabel(field)));
  const note = el("span", "panel-note", "");
  head.append(title, note);
  const body = el("div", "chart-host");
  body.dataset.chart = "series";
  panel.append(head, body);
  host.append(panel);
  const end = serverNow();
  const start = end - DAY_MS;
  const width = plotWidth(body);
  const every = Math.max(1, Math.ceil((end - start) / 1000 / width));
  body.dataset.maxPoints = String(width);
  try {
    const s = await getJson(parkPath(`/series?device=${encodeURIComponent(dev.id)}&field=${encodeURIComponent(field)}` +
      `&start=${start}&end=${end}&every=${every}&agg=mean`));
    if (gen !== state.viewGen) return;
    note.textContent = t("chart_points", s.points.length, fmtEvery(every));
    body.dataset.points = String(s.points.length);
    lineChart(body, s.points, { start, end, everyS: every, unit: s.unit || unit, label: title.textContent, cls: dev.role });
  } catch (err) {
    if (handleAuth(err)) return;
    body.textContent = err.message;
  }
}

export async function dailyPanel(host, scope, days, gen, preferred) {
  const panel = el("section", "panel chart-panel");
  const head = el("div", "panel-head");
  const title = el("h2", "", days > 14 ? t("daily_energy_30") : t("daily_energy"));
  const note = el("span", "panel-note", "");
  head.append(title, note);
  const body = el("div", "chart-host");
  body.dataset.chart = "daily";
  panel.append(head, body);
  host.append(panel);
  const end = serverNow();
  const start = end - (days - 1) * DAY_MS;
  try {
    const e = await getJson(parkPath(`/energy?scope=${encodeURIComponent(scope)}&every=day&start=${start}&end=${end}`), 30000);
    if (gen !== state.viewGen) return;
    const fig = e.figures.find((f) => f.name === preferred) ||
      e.figures.find((f) => f.unit === "kWh" && !f.name.includes(":")) || e.figures[0];
    if (!fig) {
      body.textContent = t("chart_empty");
      return;
    }
    note.textContent = `${fig.unit} · ${t("completeness", fmtNum(fig.completeness_pct, 0))}`;
    barChart(body, fig.periods, { unit: fig.unit, label: title.textContent });
  } catch (err) {
    if (handleAuth(err)) return;
    body.textContent = err.message;
  }
}
