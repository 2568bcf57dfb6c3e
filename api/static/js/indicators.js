// Indicators as the views show them.

import { fmtAuto, fmtPct, unitShown } from "./format.js";
import { t } from "./i18n.js";
import { state } from "./state.js";

export function indicator(indicators, name) {
  return indicators ? indicators.indicators.find((i) => i.name === name) || null : null;
}
export function fmtIndicator(ind) {
  if (!ind || ind.value === null) return "—";
  if (ind.unit === "fraction") return fmtPct(ind.value, 1);
  return `${fmtAuto(ind.value)} ${unitShown(ind.unit)}`;
}
export function fmtThreshold(row) {
  if (row.unit === "fraction") return fmtPct(row.threshold, 0);
  return `${fmtAuto(row.threshold)} ${row.unit}`;
}
// the accounting profile an answer was computed with: its name and electricity method
export function profileText(answer) {
  const profile = answer ? answer.profile : null;
  if (!profile) return "";
  const label = profile.method_label[state.lang === "en" ? "en" : "zh"];
  return t("accounting_profile", profile.name, label);
}
