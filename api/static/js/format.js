// Numbers, times, units and names as the page shows them, in the page's language and the park's
// time zone.

import { has, t, unitLabel } from "./i18n.js";
import { state } from "./state.js";

export const numberFormats = new Map();
export function fmtNum(value, digits) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  const k = `${state.lang}:${digits}`;
  if (!numberFormats.has(k)) {
    numberFormats.set(k, new Intl.NumberFormat(state.lang === "en" ? "en" : "zh-CN", {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }));
  }
  if (Math.abs(value) < 0.5 * Math.pow(10, -digits)) value = 0; // no "-0.0"
  return numberFormats.get(k).format(value);
}
export function fmtKw(value) {
  return fmtNum(value, 1);
}
export function fmtAuto(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  if (value === 0) return "0";
  const a = Math.abs(value);
  return fmtNum(value, a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3);
}
export function fmtPct(fraction, digits) {
  return fraction === null || fraction === undefined ? "—" : `${fmtNum(100 * fraction, digits ?? 1)} %`;
}
export function fmtAge(seconds) {
  if (seconds < 1.5) return t("now");
  if (seconds < 60) return t("s_ago", Math.round(seconds));
  if (seconds < 3600) return t("min_ago", Math.round(seconds / 60));
  if (seconds < 86400) return t("h_ago", Math.round(seconds / 3600));
  return t("d_ago", Math.round(seconds / 86400));
}
export function fmtEvery(s) {
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s % 60 === 0) return `${s / 60} min`;
  return `${s} s`;
}
export function tz() {
  return state.park ? state.park.timezone : "UTC";
}
export function fmtTime(ms, opts) {
  return new Intl.DateTimeFormat(state.lang === "en" ? "en-GB" : "zh-CN", {
    timeZone: tz(), hourCycle: "h23", ...(opts || { hour: "2-digit", minute: "2-digit", second: "2-digit" }),
  }).format(new Date(ms));
}
export function localDate(ms) {
  // "YYYY-MM-DD" in the park's zone
  return new Intl.DateTimeFormat("en-CA", { timeZone: tz(), year: "numeric", month: "2-digit", day: "2-digit" })
    .format(new Date(ms));
}
export function serverNow() {
  return Date.now() + state.offsetMs;
}
export function niceCeil(value) {
  if (!(value > 0)) return 1;
  const power = Math.pow(10, Math.floor(Math.log10(value)));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}
export function zoneLabel(timeZone) {
  try {
    const part = new Intl.DateTimeFormat("en", { timeZone, timeZoneName: "shortOffset" })
      .formatToParts(new Date()).find((p) => p.type === "timeZoneName");
    return part ? part.value.replace("GMT", "UTC") : timeZone;
  } catch (_err) {
    return timeZone;
  }
}
export const UNIT_SHOWN = { degC: "°C", m3: "m³", "m3/h": "m³/h", "ug/m3": "µg/m³", m2: "m²", "kgCO2/m2": "kgCO2/m²" };
export function unitShown(unit) {
  return UNIT_SHOWN[unit] || unitLabel(unit || "");
}
export function roleLabel(role) {
  return has(`role_${role}`) ? t(`role_${role}`) : role.replace(/_/g, " ");
}
export function deviceName(dev) {
  return dev.name || dev.id;
}
export function buildingName(id) {
  const b = state.buildings.get(id);
  return b ? b.name.replace(/\s*\(.*\)$/, "") : id;
}
export function tenantName(id) {
  const tn = state.tenants.get(id);
  return tn ? tn.name : id;
}
