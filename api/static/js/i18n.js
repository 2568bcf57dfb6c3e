// Every string a person sees, in Chinese and English, and the function that picks one.
//
// The texts are the server's one message catalogue (config/messages/*.yaml), the same the
// reports and the API's messages use: GET messages?lang=zh|en (no key: it holds no data), both
// languages loaded once before any module that imports this one runs (a top-level await), so
// t() is synchronous and the language toggle needs no request. The page's own labels are the catalogue's "ui.*"
// entries: t("loading") reads "ui.loading"; a full key ("device_kind.pv_inverter") is read as
// it is. An entry with plural forms ({one, other}) takes its form from the first argument.

import { state } from "./state.js";

async function load(lang) {
  // a few tries: a busy server may drop one request; without texts the page would show keys
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const response = await fetch(`messages?lang=${lang}`, { cache: "no-cache" });
      if (response.ok) return (await response.json()).messages || {};
      console.error(`messages?lang=${lang}: ${response.status}`);
    } catch (err) {
      console.error(`messages?lang=${lang}: ${err}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 300 * (attempt + 1)));
  }
  return {}; // the server is unreachable: keys show, and the page says it cannot reach it
}

const [zh, en] = await Promise.all([load("zh"), load("en")]);
const TEXTS = { zh, en };

function entry(key) {
  const table = TEXTS[state.lang === "en" ? "en" : "zh"];
  const ui = `ui.${key}`;
  if (Object.prototype.hasOwnProperty.call(table, ui)) return table[ui];
  if (Object.prototype.hasOwnProperty.call(table, key)) return table[key];
  return undefined;
}

function pluralForm(count) {
  // CLDR: English "one" for exactly 1; Chinese has only "other"
  return state.lang === "en" && Number(count) === 1 ? "one" : "other";
}

export function t(key, ...args) {
  let text = entry(key);
  if (text === undefined) text = key;
  else if (typeof text === "object") text = text[pluralForm(args[0])] || text.other;
  args.forEach((a, i) => {
    text = text.replaceAll(`{${i}}`, String(a));
  });
  return text;
}

// t() with placeholders by name: "{where}", "{value}" …
export function tn(key, values) {
  let text = t(key);
  for (const [name, value] of Object.entries(values)) text = text.replaceAll(`{${name}}`, String(value));
  return text;
}

// the keys under a prefix, in the catalogue's order ("device_kind." → every device kind)
export function keysUnder(prefix) {
  return Object.keys(TEXTS.zh).filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
}

export function has(key) {
  return entry(key) !== undefined;
}

function labelOr(key, raw) {
  // a name the catalogue does not know yet shows as words, never as a snake_case identifier
  return has(key) ? t(key) : String(raw).replace(/_/g, " ");
}

export function kindLabel(kind) {
  return labelOr(`device_kind.${kind}`, kind);
}
export function fieldLabel(name) {
  return labelOr(`field.${name}`, name);
}
export function regionLabel(region) {
  return labelOr(`region.${region}`, region);
}
export function alarmKindLabel(kind) {
  return labelOr(`alarm_kind.${kind}`, kind);
}
export function issueLabel(code) {
  return labelOr(`ledger_issue.${code}`, code);
}
export function unitLabel(unit) {
  return has(`unit.${unit}`) ? t(`unit.${unit}`) : unit;
}

// why a value is null, in the page's language (the API sends `reason` and `reason_zh`)
export function reasonText(item) {
  if (!item) return "";
  if (state.lang !== "en" && item.reason_zh) return item.reason_zh;
  return item.reason || "";
}

// an alarm's message in the page's language (the API sends both)
export function alarmMessage(alarm) {
  if (state.lang !== "en" && alarm.message_zh) return alarm.message_zh;
  return alarm.message || alarmKindLabel(alarm.kind || "");
}
