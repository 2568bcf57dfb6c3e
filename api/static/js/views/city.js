// Every park the key sees, side by side (#/city).

import { getJson } from "../api.js";
import { $, el } from "../dom.js";
import { fmtNum, localDate, serverNow } from "../format.js";
import { has, regionLabel, t } from "../i18n.js";
import { fmtIndicator, indicator } from "../indicators.js";
import { panel, setCrumbs, setTab, showRefusal } from "../page.js";
import { API, state } from "../state.js";

export const CITY_COLUMNS = ["comprehensive_energy_tce", "scope2_location_tco2", "tco2_per_tce", "clean_energy_share", "renewable_share", "self_sufficiency_rate", "pv_self_consumption_rate", "peak_demand_kw"];

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
  const table = el("table", "city");
  table.id = "city-table";
  const hr = el("tr");
  hr.append(el("th", "", t("col_park")));
  for (const c of CITY_COLUMNS) hr.append(el("th", "num", has(`ind_${c}`) ? t(`ind_${c}`) : c));
  hr.append(el("th", "num", t("col_complete")));
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
    c0.append(a, el("div", "dev-sub", `${t("n_devices", pk.devices)} · ${regionLabel(pk.grid_region)}`));
    tr.append(c0);
    const row = {};
    for (const c of CITY_COLUMNS) {
      const td = el("td", "num", "…");
      tr.append(td);
      row[c] = td;
    }
    const comp = el("td", "num", "…");
    tr.append(comp);
    row._comp = comp;
    tbody.append(tr);
    cells.set(pk.id, row);
  }
  table.append(thead, tbody);
  const tw = el("div", "table-wrap");
  tw.append(table);
  p.append(ctl, tw);
  $("view").replaceChildren(p);
  state.view = null;
  const day = localDate(serverNow());
  const period = kind === "day" ? day : kind === "month" ? day.slice(0, 7) : day.slice(0, 4);
  const results = new Map();
  const paint = () => {
    for (const c of CITY_COLUMNS) {
      const max = Math.max(0, ...[...results.values()].map((ind) => Math.abs((indicator(ind, c) || {}).value || 0)));
      for (const [pid, ind] of results) {
        const i = indicator(ind, c);
        const td = cells.get(pid)[c];
        td.replaceChildren();
        td.append(el("span", "", fmtIndicator(i)));
        if (i && i.value !== null && max > 0) {
          const bar = el("div", "mini");
          const fill = el("div", "mini-fill");
          fill.style.width = `${(100 * Math.abs(i.value)) / max}%`;
          bar.append(fill);
          td.append(bar);
        }
        td.title = i && i.value === null ? i.reason || "" : "";
      }
    }
  };
  for (const pk of state.parks) {
    getJson(`${API}/parks/${encodeURIComponent(pk.id)}/indicators?period=${period}`, 60000)
      .then((ind) => {
        if (gen !== state.viewGen) return;
        results.set(pk.id, ind);
        const comps = ind.indicators.map((i) => i.completeness_pct).filter((v) => v !== null);
        cells.get(pk.id)._comp.textContent = comps.length ? `${fmtNum(Math.min(...comps), 0)}–${fmtNum(Math.max(...comps), 0)} %` : "—";
        paint();
      })
      .catch((err) => {
        if (gen !== state.viewGen) return;
        const row = cells.get(pk.id);
        for (const c of CITY_COLUMNS) row[c].textContent = "";
        row._comp.textContent = err.message;
      });
  }
}
