// The part of the address after "#" picks the view: "/" overview, "/buildings", "/b/<building>",
// "/b/<building>/f/<floor>", "/d/<device>", "/tenants", "/t/<tenant>", "/city", "/pending".

import { $ } from "./dom.js";
import { t } from "./i18n.js";
import { showError, showRefusal } from "./page.js";
import { state } from "./state.js";
import { viewBuilding, viewBuildings, viewFloor } from "./views/buildings.js";
import { viewCity } from "./views/city.js";
import { viewDevice } from "./views/device.js";
import { viewOverview } from "./views/overview.js";
import { canApprove, viewPending } from "./views/pending.js";
import { ownTenant, viewTenant, viewTenants } from "./views/tenant.js";

export function route() {
  if (!state.park) return;
  state.viewGen += 1;
  const gen = state.viewGen;
  state.view = null;
  const path = decodeURIComponent(window.location.hash.replace(/^#/, "")) || "/";
  const parts = path.split("/").filter(Boolean);
  const cityTab = document.querySelector('#tabs [data-tab="city"]');
  cityTab.hidden = !(state.role === "city" || state.parks.length > 1);
  for (const tab of ["overview", "buildings"]) document.querySelector(`#tabs [data-tab="${tab}"]`).hidden = state.role === "tenant";
  document.querySelector('#tabs [data-tab="tenant"]').hidden = false;
  // approving devices is for operator and city keys (the server refuses the others)
  document.querySelector('#tabs [data-tab="pending"]').hidden = !canApprove();
  try {
    if (parts[0] === "city") viewCity(gen);
    else if (parts[0] === "t" && parts[1]) viewTenant(parts[1], gen);
    else if (parts[0] === "tenants") viewTenants();
    else if (parts[0] === "d" && parts[1]) viewDevice(parts[1], gen);
    else if (parts[0] === "pending") viewPending(gen);
    else if (state.role === "tenant") {
      // a tenant key has no park overview: its own page
      if (parts[0] === "b" || parts[0] === "buildings") showRefusal(t("refused_other"));
      else window.location.replace(`#/t/${encodeURIComponent(ownTenant())}`);
    } else if (parts[0] === "b" && parts[1] && parts[2] === "f" && parts[3]) viewFloor(parts[1], Number(parts[3]), gen);
    else if (parts[0] === "b" && parts[1]) viewBuilding(parts[1], gen);
    else if (parts[0] === "buildings") viewBuildings();
    else viewOverview(gen);
  } catch (err) {
    showError(err.message);
  }
  $("view").focus({ preventScroll: true });
}

// a link carrying "#key=..." hands the page a new key: onKey starts again with it
export function listenForRoutes(onKey) {
  window.addEventListener("hashchange", () => {
    if (/^#(.*&)?key=/.test(window.location.hash)) {
      onKey();
      return;
    }
    route();
  });
}
