// Devices waiting for approval (#/pending): each device that published into the park but is not
// in its registry (its readings are quarantined as unknown), with its first topic and payload,
// and a form that approves it into the registry (POST …/devices). From then on its readings are
// stored, without a restart. Operator and city keys only: the server refuses the others (403),
// and the tab is hidden for them.
//
// The list refreshes itself every PENDING_REFRESH_MS and after each approval. A refresh keeps
// the forms already on the page (what an operator has chosen stays chosen); an approved device
// leaves the list.

import { HttpError, getJson, handleAuth, parkPath, sendJson } from "../api.js";
import { $, el } from "../dom.js";
import { buildingName, deviceName, fmtAge, fmtTime, roleLabel, serverNow, tenantName } from "../format.js";
import { has, keysUnder, kindLabel, t } from "../i18n.js";
import { panel, setCrumbs, setTab, showRefusal } from "../page.js";
import { PENDING_REFRESH_MS, state } from "../state.js";

const PAYLOAD_SHOWN = 160; // characters of a first payload shown; the whole excerpt is its tooltip
const DEFAULT_KIND = "electricity_meter";
const DEFAULT_ROLE = "load";
const REFERENCES = ["building", "floor", "parent"];
const DATE_TIME = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" };

let timer = null;

export function canApprove() {
  return state.role === "operator" || state.role === "city";
}

function option(value, text, selected) {
  const node = el("option", "", text);
  node.value = value;
  node.selected = Boolean(selected);
  return node;
}

function noneOption() {
  return option("", t("pending_none_option"), true);
}

// the numeric fields of a first payload: a reading, a batch ([…] or {"readings": […]}), or none
// when the excerpt is not JSON (it is cut at a few hundred bytes)
export function payloadFields(excerpt) {
  let doc;
  try {
    doc = JSON.parse(excerpt);
  } catch (_err) {
    return null;
  }
  if (doc && Array.isArray(doc.readings)) doc = doc.readings[0];
  else if (Array.isArray(doc)) doc = doc[0];
  if (!doc || typeof doc !== "object") return null;
  return Object.keys(doc).filter((k) => k !== "ts" && typeof doc[k] === "number");
}

function fieldLabel(field) {
  if (field.startsWith("units.")) return t("pending_f_unit_of", field.slice("units.".length));
  return has(`pending_f_${field}`) ? t(`pending_f_${field}`) : field;
}

// why the server refused a field, in the page's language: the server's sentence is English, so
// Chinese reads a sentence of the catalogue (the server's as its tooltip), English the server's
function reasonText(error, field) {
  if (state.lang === "en" && error.msg) return String(error.msg);
  const type = String(error.type || "");
  if (type === "duplicate") return t("pending_err_duplicate");
  if (type === "unknown_unit") return t("pending_err_unknown_unit");
  if (type === "unknown_field") return t("pending_err_unknown_field");
  if (type === "missing") return t("pending_err_missing");
  if (field === "tenant") return t("pending_err_tenant");
  if (REFERENCES.includes(field)) return t("pending_err_reference");
  return t("pending_err_invalid");
}

function formRow(form, name, label, control) {
  const row = el("div", "f-row");
  const id = `f-${form.dataset.device}-${name}`.replace(/[^A-Za-z0-9_-]/g, "_");
  const lab = el("label", "", label);
  lab.htmlFor = id;
  control.id = id;
  control.name = name;
  control.dataset.field = name;
  const error = el("span", "field-error");
  error.dataset.errorFor = name;
  error.setAttribute("aria-live", "polite");
  row.append(lab, control, error);
  return row;
}

function select(options) {
  const node = el("select");
  node.append(...options);
  return node;
}

function approveForm(pending, onDone) {
  const form = el("form", "approve-form");
  form.dataset.device = pending.device;
  form.noValidate = true;
  form.setAttribute("autocomplete", "off");

  const idRow = el("div", "f-row");
  const idError = el("span", "field-error");
  idError.dataset.errorFor = "id";
  idRow.append(el("span", "f-label", t("pending_f_id")), el("code", "f-id", pending.device), idError);

  const kinds = keysUnder("device_kind.");
  const kind = select(kinds.map((k) => option(k, kindLabel(k), k === DEFAULT_KIND)));
  const role = select(keysUnder("ui.role_").map((r) => option(r, roleLabel(r), r === DEFAULT_ROLE)));
  const name = el("input");
  name.type = "text";
  name.maxLength = 200;
  const building = select([noneOption(), ...[...state.buildings.values()].map((b) => option(b.id, buildingName(b.id)))]);
  const floor = select([noneOption()]);
  const tenant = select([noneOption(), ...[...state.tenants.values()].map((x) => option(x.id, tenantName(x.id)))]);
  const meters = state.devices.filter((d) => /_meter$/.test(d.kind) && !d.retired);
  const parent = select([noneOption(), ...meters.map((d) => option(d.id, `${deviceName(d)} (${d.id})`))]);
  const multiplier = el("input");
  multiplier.type = "number";
  multiplier.min = "0";
  multiplier.step = "any";
  multiplier.value = "1";
  multiplier.inputMode = "decimal";

  building.addEventListener("change", () => {
    const b = state.buildings.get(building.value);
    floor.replaceChildren(noneOption(), ...(b ? b.floors : []).map((f) =>
      option(String(f.number), t("floor_n", f.number) + (f.tenant ? ` · ${tenantName(f.tenant)}` : ""))));
  });
  floor.addEventListener("change", () => {
    // a floor let to a tenant: its meter is usually that tenant's
    const b = state.buildings.get(building.value);
    const f = b ? b.floors.find((x) => String(x.number) === floor.value) : null;
    if (f && f.tenant && !tenant.value) tenant.value = f.tenant;
  });

  const grid = el("div", "f-grid");
  grid.append(
    idRow,
    formRow(form, "kind", t("pending_f_kind"), kind),
    formRow(form, "role", t("pending_f_role"), role),
    formRow(form, "name", t("pending_f_name"), name),
    formRow(form, "building", t("pending_f_building"), building),
    formRow(form, "floor", t("pending_f_floor"), floor),
    formRow(form, "tenant", t("pending_f_tenant"), tenant),
    formRow(form, "parent", t("pending_f_parent"), parent),
    formRow(form, "multiplier", t("pending_f_multiplier"), multiplier),
  );

  const units = el("fieldset", "f-units");
  units.append(el("legend", "", t("pending_units")));
  const fields = payloadFields(pending.first_payload);
  const unitInputs = new Map();
  if (fields === null) units.append(el("p", "panel-note", t("pending_units_unread")));
  for (const f of fields || []) {
    const input = el("input");
    input.type = "text";
    input.maxLength = 20;
    input.placeholder = t("pending_unit_default");
    unitInputs.set(f, input);
    units.append(formRow(form, `units.${f}`, t("pending_f_unit_of", f), input));
  }
  const unitsError = el("span", "field-error");
  unitsError.dataset.errorFor = "units";
  units.append(unitsError);

  const submit = el("button", "btn", t("pending_approve"));
  submit.type = "submit";
  const message = el("p", "form-msg");
  message.setAttribute("role", "alert");
  const actions = el("div", "f-actions");
  actions.append(submit, message);
  form.append(grid, units, actions);

  function clearErrors() {
    message.textContent = "";
    for (const node of form.querySelectorAll(".field-error")) {
      node.textContent = "";
      node.removeAttribute("title");
    }
    for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  }

  function showErrors(errors) {
    let unplaced = 0;
    for (const error of errors) {
      const loc = Array.isArray(error.loc) ? error.loc.map(String) : [];
      const field = (loc[0] === "body" ? loc.slice(1) : loc).join(".") || "id";
      const slot = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`)
        || form.querySelector(`[data-error-for="${CSS.escape(field.split(".")[0])}"]`);
      const text = `${fieldLabel(field)}${state.lang === "en" ? ": " : "："}${reasonText(error, field)}`;
      if (!slot) {
        unplaced += 1;
        message.textContent += ` ${text}`;
        continue;
      }
      slot.textContent = slot.textContent ? `${slot.textContent}; ${text}` : text;
      if (error.msg) slot.title = String(error.msg);
      const control = form.querySelector(`[data-field="${CSS.escape(field)}"]`);
      if (control) control.setAttribute("aria-invalid", "true");
    }
    message.textContent = t("pending_fix") + (unplaced ? message.textContent : "");
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const body = { id: pending.device, kind: kind.value, role: role.value };
    if (name.value.trim()) body.name = name.value.trim();
    if (building.value) body.building = building.value;
    if (floor.value) body.floor = Number(floor.value);
    if (tenant.value) body.tenant = tenant.value;
    if (parent.value) body.parent = parent.value;
    // sent as typed: the server says what is wrong with it, next to this field
    if (multiplier.value.trim() !== "1") body.multiplier = multiplier.value.trim() === "" ? null : Number(multiplier.value);
    const units = {};
    for (const [f, input] of unitInputs) if (input.value.trim()) units[f] = input.value.trim();
    if (Object.keys(units).length) body.units = units;
    submit.disabled = true;
    submit.textContent = t("pending_approving");
    try {
      const answer = await sendJson("POST", parkPath("/devices"), body);
      if (answer.ok) {
        await onDone(pending.device, answer.body);
        return;
      }
      if (answer.status === 403) {
        showRefusal(t("pending_refused"));
        return;
      }
      if (answer.status === 422 && answer.body && Array.isArray(answer.body.errors)) showErrors(answer.body.errors);
      else message.textContent = t("pending_failed", (answer.body && answer.body.message) || answer.status);
    } catch (err) {
      if (handleAuth(err)) return;
      message.textContent = t("pending_failed", err.message);
    } finally {
      submit.disabled = false;
      submit.textContent = t("pending_approve");
    }
  });
  return form;
}

function pendingCard(pending, onDone) {
  const card = el("article", "pending-card");
  card.dataset.device = pending.device;
  const head = el("div", "pending-head");
  head.append(el("h3", "", pending.device));
  const facts = el("dl", "facts");
  const payload = pending.first_payload.length > PAYLOAD_SHOWN
    ? `${pending.first_payload.slice(0, PAYLOAD_SHOWN)}…` : pending.first_payload;
  const payloadNode = el("code", "pending-payload", payload);
  payloadNode.title = pending.first_payload;
  const topic = el("code", "pending-topic", pending.topic);
  const first = el("dd", "pending-first");
  const last = el("dd", "pending-last");
  const count = el("dd", "pending-count num");
  const dd = (node) => {
    const d = el("dd");
    d.append(node);
    return d;
  };
  facts.append(
    el("dt", "", t("pending_topic")), dd(topic),
    el("dt", "", t("pending_payload")), dd(payloadNode),
    el("dt", "", t("pending_first_seen")), first,
    el("dt", "", t("pending_last_seen")), last,
    el("dt", "", t("pending_messages")), count,
  );
  card.append(head, facts, approveForm(pending, onDone));
  let seen = pending;
  const show = () => {
    const now = serverNow();
    first.textContent = `${fmtTime(seen.first_seen_ms, DATE_TIME)} · ${fmtAge(Math.max(0, now - seen.first_seen_ms) / 1000)}`;
    last.textContent = `${fmtTime(seen.last_seen_ms, DATE_TIME)} · ${fmtAge(Math.max(0, now - seen.last_seen_ms) / 1000)}`;
    count.textContent = String(seen.messages);
  };
  return {
    node: card,
    update(p) {
      seen = p;
      show();
    },
    tick: show,
  };
}

async function reloadDevices() {
  // the approved device is in the registry now: the other pages show it too
  const devices = await getJson(parkPath("/devices"));
  state.devices = devices;
  state.byId = new Map(devices.map((d) => [d.id, d]));
}

export function viewPending(gen) {
  setTab("pending");
  if (timer !== null) clearTimeout(timer);
  timer = null;
  if (!canApprove()) {
    showRefusal(t("pending_refused"));
    return;
  }
  setCrumbs([[state.park.name, "#/"], [t("pending_title"), null]]);
  const box = panel(t("pending_title"), "pending-panel");
  box.id = "pending";
  const checked = el("span", "panel-note pending-checked");
  box.querySelector(".panel-head").append(checked);
  const notice = el("p", "pending-notice");
  notice.setAttribute("role", "status");
  notice.hidden = true;
  const empty = el("p", "muted pending-empty", t("loading"));
  const list = el("div", "pending-list");
  box.append(el("p", "panel-note", t("pending_note", PENDING_REFRESH_MS / 1000)), notice, empty, list);
  $("view").replaceChildren(box);
  const cards = new Map();

  async function approved(device, answer) {
    notice.hidden = false;
    notice.textContent = t(answer && answer.written === false ? "pending_again" : "pending_approved", device);
    try {
      await reloadDevices();
    } catch (err) {
      if (handleAuth(err)) return;
    }
    await refresh();
  }

  async function refresh() {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    let answer;
    try {
      answer = await getJson(parkPath("/devices/pending"));
    } catch (err) {
      if (gen !== state.viewGen || handleAuth(err)) return;
      if (err instanceof HttpError && err.status === 403) {
        showRefusal(t("pending_refused"));
        return;
      }
      empty.hidden = false;
      empty.textContent = t("pending_failed", err.message);
      timer = setTimeout(refresh, PENDING_REFRESH_MS);
      return;
    }
    if (gen !== state.viewGen) return;
    const ids = new Set(answer.devices.map((p) => p.device));
    for (const [id, card] of cards) {
      if (ids.has(id)) continue;
      card.node.remove();
      cards.delete(id);
    }
    for (const p of answer.devices) {
      let card = cards.get(p.device);
      if (!card) {
        card = pendingCard(p, approved);
        cards.set(p.device, card);
        list.append(card.node);
      }
      card.update(p);
    }
    empty.hidden = cards.size > 0;
    empty.textContent = t("pending_none");
    checked.textContent = t("pending_checked", fmtTime(serverNow()));
    list.dataset.count = String(cards.size);
    timer = setTimeout(refresh, PENDING_REFRESH_MS);
  }

  state.view = {
    tick() {
      for (const card of cards.values()) card.tick();
    },
  };
  refresh();
}
