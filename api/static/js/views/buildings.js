// Buildings (#/buildings), a building (#/b/<building>) and a floor (#/b/<building>/f/<floor>).

import { dailyPanel, seriesPanel } from "../charts.js";
import { deviceRow, deviceScale, updateDeviceRow } from "../devices.js";
import { $, el } from "../dom.js";
import { deviceName, fmtKw, fmtNum, tenantName } from "../format.js";
import { t } from "../i18n.js";
import { reading } from "../live.js";
import { notFound, panel, setCrumbs, setTab } from "../page.js";
import { state } from "../state.js";

export function crumbsBase() {
  return [[state.park.name, "#/"], [t("all_buildings"), "#/buildings"]];
}

export function viewBuildings() {
  setTab("buildings");
  setCrumbs(crumbsBase());
  const p = panel(t("all_buildings"), "");
  const list = el("div", "bld-cards");
  const rows = [];
  for (const b of state.buildings.values()) {
    const card = el("a", "bld-card");
    card.href = `#/b/${encodeURIComponent(b.id)}`;
    card.dataset.building = b.id;
    const v = el("div", "bld-value num", "—");
    card.append(el("div", "bld-name", b.name), v, el("div", "bld-sub", t("n_floors", b.floors.length)));
    list.append(card);
    rows.push({ feeder: state.devices.find((d) => d.role === "feeder" && d.building === b.id), v });
  }
  p.append(list);
  $("view").replaceChildren(p);
  state.view = {
    tick() {
      for (const r of rows) {
        const live = r.feeder ? reading(r.feeder.id) : null;
        r.v.textContent = live && !live.stale && Number.isFinite(live.fields.power_kw) ? `${fmtKw(live.fields.power_kw)} kW` : "—";
      }
    },
  };
  state.view.tick();
}

export function floorPowerDevice(bId, n) {
  const devs = state.devices.filter((d) => d.building === bId && d.floor === n && d.fields.some((f) => f.name === "power_kw"));
  return devs.find((d) => d.role === "load") || devs.find((d) => d.role === "feeder") || devs[0] || null;
}

export function viewBuilding(bId, gen) {
  setTab("buildings");
  const b = state.buildings.get(bId);
  if (!b) return notFound(bId);
  setCrumbs([...crumbsBase(), [b.name, null]]);
  const view = $("view");
  const wrap = el("div", "drill");
  const feeder = state.devices.find((d) => d.role === "feeder" && d.building === bId);
  const head = panel(b.name, "drill-head");
  const now = el("div", "big num", "—");
  now.dataset.live = "building";
  head.append(el("div", "muted", feeder ? `${t("power_now")} · ${deviceName(feeder)}` : t("no_power_meter")), now);
  const floorsP = panel(t("floors"), "floors-panel");
  const table = el("table", "floors");
  const thead = el("thead");
  const hr = el("tr");
  for (const h of [t("floor"), t("tenant"), t("area"), t("power_now"), ""]) hr.append(el("th", "", h));
  thead.append(hr);
  const tbody = el("tbody");
  const floorRows = [];
  const floors = [...b.floors].sort((x, y) => y.number - x.number);
  const maxKw = deviceScale(floors.map((f) => floorPowerDevice(bId, f.number)).filter(Boolean));
  for (const f of floors) {
    const tr = el("tr", "floor-row");
    tr.dataset.floor = String(f.number);
    const a = el("a", "", t("floor_n", f.number));
    a.href = `#/b/${encodeURIComponent(bId)}/f/${f.number}`;
    const c0 = el("td");
    c0.append(a);
    const c1 = el("td", "", f.tenant ? tenantName(f.tenant) : t("vacant"));
    const c2 = el("td", "num", f.area_m2 ? `${fmtNum(f.area_m2, 0)} m²` : "—");
    const c3 = el("td", "num", "—");
    const c4 = el("td", "barcell");
    const bar = el("div", "bar");
    const fill = el("div", "fill fill-load");
    bar.append(fill);
    c4.append(bar);
    tr.append(c0, c1, c2, c3, c4);
    tr.addEventListener("click", (event) => {
      if (event.target.tagName !== "A") window.location.hash = a.getAttribute("href");
    });
    tbody.append(tr);
    floorRows.push({ dev: floorPowerDevice(bId, f.number), value: c3, fill });
  }
  table.append(thead, tbody);
  const tw = el("div", "table-wrap");
  tw.append(table);
  floorsP.append(tw);
  const charts = el("div", "charts");
  wrap.append(head, charts, floorsP);
  view.replaceChildren(wrap);
  if (feeder) seriesPanel(charts, feeder, "power_kw", "kW", gen);
  dailyPanel(charts, `building:${bId}`, 14, gen, "electricity_kwh");
  state.view = {
    tick() {
      const r = feeder ? reading(feeder.id) : null;
      now.textContent = r && Number.isFinite(r.fields.power_kw) ? `${fmtKw(r.fields.power_kw)} kW` : "—";
      for (const fr of floorRows) {
        const lr = fr.dev ? reading(fr.dev.id) : null;
        const v = lr && Number.isFinite(lr.fields.power_kw) ? lr.fields.power_kw : null;
        fr.value.textContent = v === null ? "—" : `${fmtKw(v)} kW`;
        fr.fill.style.width = `${v === null ? 0 : Math.min(100, (100 * Math.abs(v)) / maxKw)}%`;
      }
    },
  };
  state.view.tick();
}

export function viewFloor(bId, n, gen) {
  setTab("buildings");
  const b = state.buildings.get(bId);
  const floor = b ? b.floors.find((f) => f.number === n) : null;
  if (!b || !floor) return notFound(`${bId}/${n}`);
  const crumbs = [...crumbsBase(), [b.name, `#/b/${encodeURIComponent(bId)}`], [t("floor_n", n), null]];
  setCrumbs(crumbs);
  const wrap = el("div", "drill");
  const head = panel(`${b.name} · ${t("floor_n", n)}`, "drill-head");
  if (floor.tenant) {
    const a = el("a", "tenant-link", `${t("tenant")}: ${tenantName(floor.tenant)}`);
    a.href = `#/t/${encodeURIComponent(floor.tenant)}`;
    head.append(a);
  }
  if (floor.area_m2) head.append(el("div", "muted", `${t("area")}: ${fmtNum(floor.area_m2, 0)} m²`));
  const devs = state.devices.filter((d) => d.building === bId && d.floor === n);
  const devP = panel(t("devices"), "");
  const list = el("div", "dev-list");
  const rows = devs.map((d) => deviceRow(d));
  rows.forEach((r) => list.append(r.row));
  devP.append(list);
  const charts = el("div", "charts");
  wrap.append(head, devP, charts);
  $("view").replaceChildren(wrap);
  const pdev = floorPowerDevice(bId, n);
  if (pdev) seriesPanel(charts, pdev, "power_kw", "kW", gen);
  dailyPanel(charts, `floor:${bId}/${n}`, 14, gen, "electricity_kwh");
  state.view = {
    tick() {
      const scale = deviceScale(devs);
      rows.forEach((r) => updateDeviceRow(r, scale));
    },
  };
  state.view.tick();
}
