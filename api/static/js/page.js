// The frame around the views: status line, error banner, static labels, breadcrumbs, tabs,
// panels, refusals.

import { $, el } from "./dom.js";
import { zoneLabel } from "./format.js";
import { t } from "./i18n.js";
import { state } from "./state.js";

let statusKind = "wait";
export function setStatus(kind, text) {
  statusKind = kind;
  $("status-dot").className = `dot dot-${kind}`;
  $("status-text").textContent = text;
}
export function showError(message) {
  const banner = $("error");
  banner.hidden = !message;
  banner.textContent = message || "";
}

// -- language ---------------------------------------------------------------------------

export function applyStaticLabels() {
  document.documentElement.lang = state.lang === "en" ? "en" : "zh-CN";
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  $("lang-toggle").textContent = state.lang === "en" ? "中文" : "EN";
  $("lang-toggle").title = state.lang === "en" ? "切换到中文" : "Switch to English";
  $("footer").textContent = state.staleAfterS === null ? "" : t("footer", state.staleAfterS);
  if (state.live === "stream") setStatus("live", t("live_stream"));
  else if (state.live === "poll" && statusKind === "live") setStatus("live", t("live_poll"));
  if (state.park) {
    $("park-name").textContent = state.park.name;
    $("park-meta").textContent = t("park_meta", t("n_devices", state.park.devices), t("n_buildings", state.park.buildings), t("n_tenants", state.park.tenants),
      `${state.park.timezone} (${zoneLabel(state.park.timezone)})`);
  }
}

export function panel(titleText, cls) {
  const p = el("section", `panel ${cls || ""}`);
  const head = el("div", "panel-head");
  head.append(el("h2", "", titleText));
  p.append(head);
  return p;
}

export function refusal(message) {
  const box = el("section", "panel refusal");
  box.id = "refusal";
  box.setAttribute("role", "alert");
  box.append(el("h2", "", t("refused")), el("p", "", message));
  return box;
}

export function setCrumbs(items) {
  const nav = $("crumbs");
  nav.replaceChildren();
  nav.hidden = !items.length;
  items.forEach(([label, href], i) => {
    if (i) nav.append(el("span", "sep", "›"));
    if (href && i < items.length - 1) {
      const a = el("a", "", label);
      a.href = href;
      nav.append(a);
    } else {
      const s = el("span", "here", label);
      s.setAttribute("aria-current", "page");
      nav.append(s);
    }
  });
}

export function setTab(name) {
  for (const a of document.querySelectorAll("#tabs a")) {
    const on = a.dataset.tab === name;
    a.classList.toggle("on", on);
    if (on) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

export function notFound(what) {
  setCrumbs([[state.park.name, "#/"]]);
  $("view").replaceChildren(el("p", "panel", t("not_found", what)));
  state.view = null;
}

export function showRefusal(message) {
  setCrumbs([]);
  $("view").replaceChildren(refusal(message));
  state.view = null;
}
