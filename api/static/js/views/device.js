// A device (#/d/<device>): every field now, its charts, and the ledger's data quality.

import { getJson, handleAuth, parkPath, sendJson } from "../api.js";
import { dailyPanel, seriesPanel } from "../charts.js";
import { primaryField } from "../devices.js";
import { $, el } from "../dom.js";
import { buildingName, deviceName, fmtAge, fmtAuto, fmtNum, fmtTime, roleLabel, tenantName, unitShown } from "../format.js";
import { fieldLabel, issueLabel, kindLabel, t } from "../i18n.js";
import { reading } from "../live.js";
import { notFound, panel, setCrumbs, setTab, showRefusal } from "../page.js";
import { state } from "../state.js";
import { canApprove } from "./pending.js";

export const QUALITIES = ["measured", "rollover_corrected", "interpolated", "reset_corrected", "meter_replaced", "estimated", "missing"];

export async function qualityPanel(host, dev, gen) {
  const panel = el("section", "panel quality-panel");
  panel.id = "quality";
  const head = el("div", "panel-head");
  head.append(el("h2", "", t("quality")));
  const body = el("div", "quality-body");
  panel.append(head, body);
  host.append(panel);
  if (!dev.fields.some((f) => f.cumulative)) {
    body.textContent = t("quality_none");
    return;
  }
  try {
    const led = await getJson(parkPath(`/ledger?device=${encodeURIComponent(dev.id)}&interval=900`), 30000);
    if (gen !== state.viewGen) return;
    for (const f of led.fields) {
      const block = el("div", "quality-field");
      block.append(el("div", "quality-title", `${fieldLabel(f.field)} · ${t("measured_pct", fmtNum(f.completeness_pct, 1))}`));
      const strip = el("div", "quality-strip");
      strip.setAttribute("aria-hidden", "true");
      for (const iv of f.intervals) {
        const cell = el("span", `q q-${iv.quality}`);
        cell.title = `${fmtTime(iv.start_ms, { hour: "2-digit", minute: "2-digit" })} · ${t(`q_${iv.quality}`)}` +
          (iv.energy !== null ? ` · ${fmtAuto(iv.energy)} ${f.unit}` : "");
        strip.append(cell);
      }
      const chips = el("div", "chips");
      for (const q of QUALITIES) {
        const n = f.quality_counts[q];
        if (!n) continue;
        const chip = el("span", `chip q-${q}`, `${t(`q_${q}`)} ${n}`);
        chip.dataset.quality = q;
        chips.append(chip);
      }
      const issues = el("ul", "issues");
      if (!f.issues.length) issues.append(el("li", "muted", t("no_issues")));
      for (const i of f.issues.slice(0, 6)) issues.append(issueItem(i));
      block.append(strip, chips, issues);
      body.append(block);
    }
    if (!led.fields.length) body.textContent = t("quality_none");
  } catch (err) {
    if (handleAuth(err)) return;
    body.textContent = err.message;
  }
}

function issueItem(issue) {
  // the finding's name; the server's sentence (English) after it in English, as its tooltip in Chinese
  const li = el("li", "", state.lang === "en" ? `${issueLabel(issue.code)}: ${issue.message}` : issueLabel(issue.code));
  li.title = issue.message;
  return li;
}

const RETIRED_AT = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" };

// "Retire device", then a confirmation in place: POST …/devices/<id>/retire (from now). Its
// readings from then on are set aside; what it stored stays.
function retireBox(dev, gen) {
  const box = el("div", "retire");
  box.id = "retire";
  const start = el("button", "btn btn-quiet", t("retire"));
  start.type = "button";
  const confirm = el("div", "retire-confirm");
  confirm.hidden = true;
  const yes = el("button", "btn btn-danger", t("retire_yes"));
  yes.type = "button";
  const no = el("button", "btn btn-quiet", t("retire_cancel"));
  no.type = "button";
  const message = el("p", "form-msg");
  message.setAttribute("role", "alert");
  const buttons = el("div", "f-actions");
  buttons.append(yes, no);
  confirm.append(el("p", "retire-question", t("retire_confirm", deviceName(dev))), el("p", "panel-note", t("retire_note")), buttons);
  box.append(start, confirm, message);
  start.addEventListener("click", () => {
    start.hidden = true;
    confirm.hidden = false;
    no.focus();
  });
  no.addEventListener("click", () => {
    confirm.hidden = true;
    start.hidden = false;
    start.focus();
  });
  yes.addEventListener("click", async () => {
    yes.disabled = true;
    message.textContent = "";
    try {
      const answer = await sendJson("POST", parkPath(`/devices/${encodeURIComponent(dev.id)}/retire`), {});
      if (!answer.ok) {
        message.textContent = t("retire_failed", (answer.body && answer.body.message) || answer.status);
        return;
      }
      const changed = answer.body.device;
      state.devices = state.devices.map((d) => (d.id === changed.id ? changed : d));
      state.byId.set(changed.id, changed);
      if (gen === state.viewGen) viewDevice(changed.id, gen);
    } catch (err) {
      if (handleAuth(err)) return;
      message.textContent = t("retire_failed", err.message);
    } finally {
      yes.disabled = false;
    }
  });
  return box;
}

export function viewDevice(id, gen) {
  setTab("buildings");
  const dev = state.byId.get(id);
  if (!dev) {
    if (state.role === "tenant") return showRefusal(t("refused_other"));
    return notFound(id);
  }
  const crumbs = [[state.park.name, state.role === "tenant" ? null : "#/"]];
  if (state.role !== "tenant") crumbs.push([t("all_buildings"), "#/buildings"]);
  if (dev.building && state.buildings.has(dev.building) && state.role !== "tenant") {
    crumbs.push([buildingName(dev.building), `#/b/${encodeURIComponent(dev.building)}`]);
    if (dev.floor !== null) crumbs.push([t("floor_n", dev.floor), `#/b/${encodeURIComponent(dev.building)}/f/${dev.floor}`]);
  }
  if (dev.tenant && state.tenants.has(dev.tenant)) crumbs.push([tenantName(dev.tenant), `#/t/${encodeURIComponent(dev.tenant)}`]);
  crumbs.push([deviceName(dev), null]);
  setCrumbs(crumbs);
  const wrap = el("div", "drill");
  const head = panel(deviceName(dev), "drill-head");
  head.dataset.device = dev.id;
  const facts = el("dl", "facts");
  const fact = (k, v) => {
    if (v === null || v === undefined || v === "") return;
    facts.append(el("dt", "", k), el("dd", "", String(v)));
  };
  fact("ID", dev.id);
  fact(t("kind"), `${kindLabel(dev.kind)} · ${roleLabel(dev.role)}`);
  if (dev.building) fact(t("building"), buildingName(dev.building) + (dev.floor !== null ? ` · ${t("floor_n", dev.floor)}` : ""));
  if (dev.tenant) fact(t("tenant"), tenantName(dev.tenant));
  if (dev.capacity_kw) fact(t("rating"), dev.capacity_kw + (dev.capacity_kwh ? ` kW / ${dev.capacity_kwh} kWh` : " kW"));
  const liveBox = el("div", "live-fields");
  head.append(facts, liveBox);
  if (dev.retired) head.append(el("p", "retired-note", t("retired_at", fmtTime(Date.parse(dev.retired), RETIRED_AT))));
  if (canApprove() && !dev.retired) head.append(retireBox(dev, gen));
  const charts = el("div", "charts");
  wrap.append(head, charts);
  $("view").replaceChildren(wrap);
  const pf = primaryField(dev);
  if (pf) seriesPanel(charts, dev, pf.name, pf.unit, gen);
  if (dev.fields.some((f) => f.cumulative)) dailyPanel(charts, `device:${dev.id}`, 14, gen, "energy_kwh");
  qualityPanel(wrap, dev, gen);
  state.view = {
    tick() {
      const r = reading(dev.id);
      liveBox.replaceChildren();
      if (!r) {
        liveBox.append(el("span", "muted", t("no_data")));
        return;
      }
      for (const f of dev.fields) {
        const v = r.fields[f.name];
        if (v === undefined) continue;
        const chip = el("div", `live-field${r.stale ? " stale" : ""}`);
        chip.dataset.field = f.name;
        chip.append(el("span", "lf-name", fieldLabel(f.name)), el("span", "lf-value num", `${fmtAuto(v)} ${unitShown(f.unit)}`));
        liveBox.append(chip);
      }
      liveBox.append(el("span", "muted", r.stale ? `${t("stale")} · ${fmtAge(r.age)}` : fmtAge(r.age)));
    },
  };
  state.view.tick();
}
