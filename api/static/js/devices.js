// A device row with a live value ([data-device] .dev-value / .dev-age), shared by the views.

import { el } from "./dom.js";
import { buildingName, deviceName, fmtAge, fmtAuto, fmtKw, niceCeil, tenantName, unitShown } from "./format.js";
import { kindLabel, t } from "./i18n.js";
import { reading } from "./live.js";
import { state } from "./state.js";

// A device row with a live value: [data-device] .dev-value / .dev-age
export function deviceRow(dev, opts) {
  const row = el(opts && opts.link === false ? "div" : "a", "dev");
  if (!(opts && opts.link === false)) row.href = `#/d/${encodeURIComponent(dev.id)}`;
  row.dataset.device = dev.id;
  row.title = [dev.id, kindLabel(dev.kind), dev.capacity_kw ? t("rated", dev.capacity_kw) : ""].filter(Boolean).join(" · ");
  const names = el("div", "dev-names");
  let where = "";
  if (dev.tenant && state.tenants.has(dev.tenant)) where = tenantName(dev.tenant);
  else if (dev.building) where = buildingName(dev.building) + (dev.floor !== null ? ` · ${t("floor_n", dev.floor)}` : "");
  names.append(el("div", "dev-name", deviceName(dev)), el("div", "dev-sub", where || kindLabel(dev.kind)));
  const bar = el("div", "bar");
  const fill = el("div", "fill");
  bar.append(fill);
  const value = el("div", "dev-value num", "—");
  const age = el("div", "dev-age", t("no_data"));
  row.append(names, bar, value, age);
  return { dev, row, fill, value, age };
}
export function primaryField(dev) {
  if (dev.fields.some((f) => f.name === "power_kw")) return { name: "power_kw", unit: "kW" };
  const f = dev.fields.find((x) => !x.cumulative) || dev.fields[0];
  return f ? { name: f.name, unit: f.unit } : null;
}
export function updateDeviceRow(r, scale) {
  const live = reading(r.dev.id);
  const pf = primaryField(r.dev);
  const v = live && pf ? live.fields[pf.name] : null;
  const stale = !live || live.stale;
  r.row.classList.toggle("stale", stale);
  r.row.classList.toggle("no-data", !live);
  r.value.textContent = v === null || v === undefined ? "—" : `${pf.name === "power_kw" ? fmtKw(v) : fmtAuto(v)} ${unitShown(pf.unit)}`;
  const w = Number.isFinite(v) && pf && pf.name === "power_kw" ? Math.min(100, (100 * Math.abs(v)) / (scale || 1)) : 0;
  r.fill.style.width = `${w}%`;
  r.fill.classList.toggle("neg", Number.isFinite(v) && v < 0);
  r.fill.className = `fill fill-${r.dev.role}${Number.isFinite(v) && v < 0 ? " neg" : ""}`;
  r.age.textContent = live ? (stale ? `${t("stale")} · ${fmtAge(live.age)}` : fmtAge(live.age)) : t("no_data");
}
export function deviceScale(devs) {
  let max = 0;
  for (const d of devs) {
    max = Math.max(max, d.capacity_kw || 0);
    const r = reading(d.id);
    if (r && Number.isFinite(r.fields.power_kw)) max = Math.max(max, Math.abs(r.fields.power_kw));
  }
  return niceCeil(max);
}
