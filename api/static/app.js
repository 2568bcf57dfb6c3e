// smartpark live dashboard. Plain JavaScript, no framework, no build step, nothing loaded from
// anywhere but this app: every URL is relative to the page, so it also works behind a prefix.
//
// Pages (the part of the address after "#"): "/" park overview, "/buildings", "/b/<building>",
// "/b/<building>/f/<floor>", "/d/<device>" (drill-down), "/tenants", "/t/<tenant>", "/city".
// The park is "?park=<id>" (default: the first the key sees).
//
// The API wants a key. A link may carry it in the fragment ("#key=...", never sent to the
// server): the page takes it once, keeps it in sessionStorage (this tab only), removes it from
// the address bar and sends it as "Authorization: Bearer" with every request. Without a key, or
// when the server refuses it, the page asks for one.
//
// Live data: GET /parks/{park}/stream (Server-Sent Events read with fetch, so the key goes in a
// header) when it answers 200; polling /parks/{park}/latest every 2 s when it does not (404).
"use strict";

(function () {
  const POLL_MS = 2000;
  const STREAM_RETRY_MS = 300000; // while polling, ask for the stream again every 5 min
  const STREAM_IDLE_MS = 45000; // no byte (not even a ping) for this long: reconnect
  const TODAY_REFRESH_MS = 60000;
  const TARGETS_REFRESH_MS = 1800000;
  const REQUEST_TIMEOUT_MS = 15000;
  const API = "api/v1";
  const KEY_STORAGE = "smartpark.apiKey";
  const LANG_STORAGE = "smartpark.lang";
  const ACTIVE_KW = 0.1;
  const DAY_MS = 86400000;
  const MIN_COMPLETENESS_PCT = 90; // services.targets: below this, "not enough data"

  // -- one label table: [Chinese, English] ------------------------------------------------
  const L = {
    skip: ["跳到内容", "Skip to content"],
    loading: ["加载中…", "Loading…"],
    park: ["园区", "Park"],
    tab_overview: ["总览", "Overview"],
    tab_buildings: ["楼宇", "Buildings"],
    tab_tenants: ["企业", "Tenants"],
    tab_city: ["城市", "City"],
    api_docs: ["API 文档", "API docs"],
    connecting: ["连接中…", "Connecting…"],
    open: ["打开", "Open"],
    key_note: ["密钥只保存在此浏览器标签页中，并随每个请求发送到本服务器。", "The key is kept for this browser tab only and sent to this server with every request."],
    key_enter: ["请输入 API 密钥以查看园区。", "Enter an API key to see the park."],
    key_refused: ["该 API 密钥被拒绝，请输入其他密钥。", "That API key was refused. Enter another one."],
    key_revoked: ["服务器不再接受此 API 密钥，请输入其他密钥。", "The server no longer accepts this API key. Enter another one."],
    key_needed: ["需要 API 密钥", "API key needed"],
    live_stream: ["实时 · 推送", "Live · stream"],
    live_poll: ["实时 · 轮询", "Live · polling"],
    offline: ["离线 · 重试中", "Offline · retrying"],
    cannot_reach: ["无法连接服务器：{0}", "Cannot reach the server: {0}"],
    updated: ["更新于 {0}", "Updated {0}"],
    newest: ["最新读数 {0}", "newest reading {0}"],
    no_readings: ["暂无读数", "no readings yet"],
    park_meta: ["{0} 台设备 · {1} 栋楼 · {2} 家企业 · 时区 {3}", "{0} devices · {1} buildings · {2} tenants · times in {3}"],
    now: ["刚刚", "now"],
    s_ago: ["{0} 秒前", "{0} s ago"],
    min_ago: ["{0} 分钟前", "{0} min ago"],
    h_ago: ["{0} 小时前", "{0} h ago"],
    d_ago: ["{0} 天前", "{0} d ago"],
    no_data: ["无数据", "no data"],
    stale: ["过期", "stale"],
    footer: ["电池功率为正表示放电、为负表示充电；电网功率为负表示上网。超过 {0} 秒无读数的设备显示为灰色。碳排放按电网平均排放因子（基于位置）计算。", "Positive battery power is discharging, negative is charging. Negative grid power is export. A device with no reading for more than {0} s is greyed. Carbon uses the grid-average factor (location-based)."],
    // overview
    power_flow: ["实时功率流", "Live power flow"],
    grid: ["电网", "Grid"],
    pv: ["光伏", "PV"],
    battery: ["储能", "Battery"],
    buildings: ["楼宇负荷", "Buildings"],
    ev: ["充电桩", "EV chargers"],
    load: ["园区总负荷", "Park load"],
    importing: ["购电", "importing"],
    exporting: ["上网", "exporting"],
    charging: ["充电", "charging"],
    discharging: ["放电", "discharging"],
    idle: ["待机", "idle"],
    soc: ["SoC {0} %", "SoC {0} %"],
    of_kwp: ["{0} % / {1} kWp", "{0} % of {1} kWp"],
    n_charging: ["{0}/{1} 在充", "{0} of {1} charging"],
    onsite: ["{0} % 本地供给", "{0} % supplied on site"],
    today: ["今日能耗与碳排放", "Today: energy and carbon"],
    carbon_now: ["当前碳强度", "Carbon intensity now"],
    carbon_rate: ["{0} tCO2/h（电网购电）", "{0} tCO2/h (grid import)"],
    factor: ["因子 {0} {1}", "factor {0} {1}"],
    carbon_needs: ["需要电网因子与负荷", "needs the grid factor and load"],
    completeness: ["完整度 {0} %", "{0} % complete"],
    fig_grid_import_kwh: ["电网购电", "Grid import"],
    fig_grid_export_kwh: ["上网电量", "Grid export"],
    fig_pv_generation_kwh: ["光伏发电", "PV generation"],
    fig_battery_charge_kwh: ["储能充电", "Battery charge"],
    fig_battery_discharge_kwh: ["储能放电", "Battery discharge"],
    fig_ev_charging_kwh: ["充电桩用电", "EV charging"],
    fig_load_kwh: ["园区用电", "Park consumption"],
    fig_gas_m3: ["天然气", "Natural gas"],
    carbon_total: ["碳排放（范围1+2，位置法）", "Carbon (scope 1 + 2, location)"],
    carbon_scope2: ["范围2（位置法）", "Scope 2 (location)"],
    carbon_scope1: ["范围1（天然气）", "Scope 1 (gas)"],
    kpis: ["指标与目标（今日值 / 年度目标）", "Indicators against targets (today / annual target)"],
    no_threshold: ["无阈值", "no threshold"],
    target: ["目标 {0} {1}", "target {0} {1}"],
    met: ["达标", "met"],
    not_met: ["未达标", "not met"],
    not_enough_data: ["数据不足", "not enough data"],
    example: ["示例值", "example"],
    targets_unavailable: ["目标不可用（{0}）", "targets unavailable ({0})"],
    ind_tco2_per_tce: ["单位能耗碳排放", "CO2 per tce"],
    ind_clean_energy_share: ["清洁能源占比", "Clean-energy share"],
    ind_self_sufficiency_rate: ["自给率", "Self-sufficiency"],
    ind_renewable_penetration: ["可再生能源渗透率", "Renewable penetration"],
    ind_renewable_share: ["可再生能源占比", "Renewable share"],
    ind_pv_self_consumption_rate: ["光伏自消纳率", "PV self-consumption"],
    ind_comprehensive_energy_tce: ["综合能耗", "Energy (tce)"],
    ind_scope2_location_tco2: ["范围2碳排放", "Scope 2 CO2"],
    ind_scope1_tco2: ["范围1碳排放", "Scope 1 CO2"],
    ind_renewable_electricity_share: ["绿电占比", "Renewable electricity share"],
    ind_kgco2_per_m2: ["单位面积碳排放", "CO2 per m²"],
    ind_peak_demand_kw: ["最大需量", "Peak demand"],
    ind_electricity_cost_cny: ["电费", "Electricity cost"],
    ind_load_factor: ["负荷率", "Load factor"],
    alarms: ["活动告警", "Active alarms"],
    alarms_na: ["告警不可用", "alarms not available"],
    alarms_none: ["无活动告警", "No active alarms"],
    sev_critical: ["严重", "critical"],
    sev_major: ["重要", "major"],
    sev_warning: ["警告", "warning"],
    sev_minor: ["次要", "minor"],
    sev_info: ["提示", "info"],
    acknowledged: ["已确认", "acknowledged"],
    devices: ["设备", "Devices"],
    n_devices: ["{0} 台设备", "{0} device(s)"],
    n_stale: ["{0} 台过期", "{0} stale"],
    role_grid_connection: ["电网关口", "Grid connection"],
    role_feeder: ["馈线", "Feeders"],
    role_load: ["楼层负荷", "Floor loads"],
    role_pv: ["光伏", "PV"],
    role_storage: ["储能", "Battery storage"],
    role_ev_charging: ["充电桩", "EV charging"],
    role_gas: ["燃气", "Gas"],
    role_environment: ["环境", "Environment"],
    role_heat: ["热量", "Heat"],
    role_water: ["水", "Water"],
    role_production: ["产量计数", "Production"],
    // drill-down
    all_buildings: ["全部楼宇", "All buildings"],
    building: ["楼宇", "Building"],
    floor: ["楼层", "Floor"],
    floor_n: ["{0} 层", "Floor {0}"],
    tenant: ["企业", "Tenant"],
    device: ["设备", "Device"],
    area: ["面积", "Area"],
    power_now: ["当前功率", "Power now"],
    floors: ["楼层", "Floors"],
    vacant: ["空置", "vacant"],
    power_24h: ["功率（近24小时，服务器端降采样）", "Power, last 24 h (downsampled on the server)"],
    field_24h: ["{0}（近24小时）", "{0}, last 24 h"],
    daily_energy: ["每日电量（近14天）", "Daily energy, last 14 days"],
    daily_energy_30: ["每日电量（近30天）", "Daily energy, last 30 days"],
    quality: ["数据质量（近24小时，15分钟区间）", "Data quality, last 24 h (15-min intervals)"],
    quality_none: ["该设备没有累计寄存器，无区间账本。", "This device has no cumulative register, so there is no interval ledger."],
    measured_pct: ["实测完整度 {0} %", "{0} % measured"],
    issues: ["问题", "Issues"],
    no_issues: ["无问题", "no issues"],
    q_measured: ["实测", "measured"],
    q_rollover_corrected: ["翻转修正", "rollover corrected"],
    q_interpolated: ["插值", "interpolated"],
    q_reset_corrected: ["复位修正", "reset corrected"],
    q_meter_replaced: ["换表", "meter replaced"],
    q_estimated: ["估算", "estimated"],
    q_missing: ["缺失", "missing"],
    chart_points: ["{0} 点 · 每 {1}", "{0} points · every {1}"],
    chart_empty: ["该时段无数据", "no data in this range"],
    no_power_meter: ["该楼宇没有总表。", "This building has no main meter."],
    rated: ["额定 {0} kW", "{0} kW rated"],
    kind: ["类型", "Kind"],
    rating: ["额定", "Rating"],
    // tenant
    tenants_title: ["园区企业", "Tenants of the park"],
    sector: ["行业", "Sector"],
    month_indicators: ["本月指标（{0}）", "This month's indicators ({0})"],
    reports: ["报告下载", "Report downloads"],
    year: ["年份", "Year"],
    downloading: ["下载中…", "Downloading…"],
    download_failed: ["下载失败：{0}", "Download failed: {0}"],
    refused: ["无权访问", "Access refused"],
    refused_tenant: ["此密钥无权查看企业 {0} 的数据。", "This key may not see tenant {0}'s data."],
    refused_other: ["此密钥无权查看该页面。", "This key may not see this page."],
    not_found: ["未找到：{0}", "Not found: {0}"],
    occupies: ["所在楼层", "Floors"],
    // city
    city_title: ["园区对比", "Parks compared"],
    period: ["时段", "Period"],
    period_day: ["今日", "Today"],
    period_month: ["本月", "This month"],
    period_year: ["本年", "This year"],
    col_park: ["园区", "Park"],
    col_complete: ["完整度", "Complete"],
    city_note: ["各园区按相同口径计算（等价值法，位置法碳排放）。空值表示无法计算，鼠标悬停查看原因。", "Every park on the same basis (equivalent value, location-based carbon). A blank cannot be computed: hover for the reason."],
  };

  const state = {
    lang: "zh",
    key: null,
    role: null, // "city" | "operator" | "tenant"
    parks: [],
    park: null, // ParkOut
    tenants: new Map(),
    buildings: new Map(),
    devices: [],
    byId: new Map(),
    readings: new Map(), // device -> {fields, timeMs}
    offsetMs: 0, // server clock - browser clock
    staleAfterS: 60,
    flows: null, // the newest `flows` event, with receivedAt
    alarms: new Map(),
    alarmsAvailable: null,
    today: null, // {energy, indicators, at}
    targets: null, // {byReads: Map, error, at}
    live: null, // "stream" | "poll"
    liveGen: 0,
    pollTimer: null,
    streamAbort: null,
    failures: 0,
    view: null, // {tick()}
    viewGen: 0,
  };

  const $ = (id) => document.getElementById(id);

  function t(key, ...args) {
    const entry = L[key];
    let text = entry ? entry[state.lang === "en" ? 1 : 0] : key;
    args.forEach((a, i) => {
      text = text.replace(`{${i}}`, String(a));
    });
    return text;
  }
  function has(key) {
    return Object.prototype.hasOwnProperty.call(L, key);
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  const SVG_NS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // -- formatting -------------------------------------------------------------------------

  const numberFormats = new Map();
  function fmtNum(value, digits) {
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
  function fmtKw(value) {
    return fmtNum(value, 1);
  }
  function fmtAuto(value) {
    if (value === null || value === undefined || !Number.isFinite(value)) return "—";
    if (value === 0) return "0";
    const a = Math.abs(value);
    return fmtNum(value, a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3);
  }
  function fmtPct(fraction, digits) {
    return fraction === null || fraction === undefined ? "—" : `${fmtNum(100 * fraction, digits ?? 1)} %`;
  }
  function fmtAge(seconds) {
    if (seconds < 1.5) return t("now");
    if (seconds < 60) return t("s_ago", Math.round(seconds));
    if (seconds < 3600) return t("min_ago", Math.round(seconds / 60));
    if (seconds < 86400) return t("h_ago", Math.round(seconds / 3600));
    return t("d_ago", Math.round(seconds / 86400));
  }
  function fmtEvery(s) {
    if (s % 3600 === 0) return `${s / 3600} h`;
    if (s % 60 === 0) return `${s / 60} min`;
    return `${s} s`;
  }
  function tz() {
    return state.park ? state.park.timezone : "UTC";
  }
  function fmtTime(ms, opts) {
    return new Intl.DateTimeFormat(state.lang === "en" ? "en-GB" : "zh-CN", {
      timeZone: tz(), hourCycle: "h23", ...(opts || { hour: "2-digit", minute: "2-digit", second: "2-digit" }),
    }).format(new Date(ms));
  }
  function localDate(ms) {
    // "YYYY-MM-DD" in the park's zone
    return new Intl.DateTimeFormat("en-CA", { timeZone: tz(), year: "numeric", month: "2-digit", day: "2-digit" })
      .format(new Date(ms));
  }
  function serverNow() {
    return Date.now() + state.offsetMs;
  }
  function niceCeil(value) {
    if (!(value > 0)) return 1;
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
    return 10 * power;
  }
  function zoneLabel(timeZone) {
    try {
      const part = new Intl.DateTimeFormat("en", { timeZone, timeZoneName: "shortOffset" })
        .formatToParts(new Date()).find((p) => p.type === "timeZoneName");
      return part ? part.value.replace("GMT", "UTC") : timeZone;
    } catch (_err) {
      return timeZone;
    }
  }
  const UNIT_SHOWN = { degC: "°C", m3: "m³", "m3/h": "m³/h", "ug/m3": "µg/m³", m2: "m²", "kgCO2/m2": "kgCO2/m²" };
  function unitShown(unit) {
    return UNIT_SHOWN[unit] || unit || "";
  }
  function roleLabel(role) {
    return has(`role_${role}`) ? t(`role_${role}`) : role.replace(/_/g, " ");
  }
  function deviceName(dev) {
    return dev.name || dev.id;
  }
  function buildingName(id) {
    const b = state.buildings.get(id);
    return b ? b.name.replace(/\s*\(.*\)$/, "") : id;
  }
  function tenantName(id) {
    const tn = state.tenants.get(id);
    return tn ? tn.name : id;
  }

  // -- the API key ------------------------------------------------------------------------

  function storeKey(key) {
    state.key = key || null;
    try {
      if (key) window.sessionStorage.setItem(KEY_STORAGE, key);
      else window.sessionStorage.removeItem(KEY_STORAGE);
    } catch (_err) {
      // storage disabled: the key lives as long as the page
    }
  }

  function takeKeyFromFragment() {
    const raw = window.location.hash.replace(/^#/, "");
    if (raw.startsWith("key=") || raw.includes("&key=")) {
      const params = new URLSearchParams(raw);
      storeKey(params.get("key"));
      params.delete("key");
      const rest = params.toString();
      const url = window.location.pathname + window.location.search + (rest ? `#${rest}` : "");
      window.history.replaceState(null, "", url);
      return;
    }
    try {
      state.key = window.sessionStorage.getItem(KEY_STORAGE);
    } catch (_err) {
      state.key = null;
    }
  }

  class HttpError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  function showKeyForm(message) {
    stopLive();
    setStatus("down", t("key_needed"));
    showError("");
    $("key-message").textContent = message;
    $("key-form").hidden = false;
    $("view").replaceChildren();
    $("crumbs").hidden = true;
    $("key-input").focus();
  }

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("key-input").value.trim();
    if (!key) return;
    storeKey(key);
    $("key-input").value = "";
    $("key-form").hidden = true;
    setStatus("wait", t("connecting"));
    start();
  });

  // -- requests ---------------------------------------------------------------------------

  function authHeaders() {
    return state.key ? { Authorization: `Bearer ${state.key}` } : {};
  }

  async function request(path, timeoutMs) {
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), timeoutMs || REQUEST_TIMEOUT_MS);
    try {
      const response = await fetch(path, { signal: controller.signal, cache: "no-store", headers: authHeaders() });
      if (!response.ok) {
        let message = `${response.status} ${response.statusText}`;
        try {
          const body = await response.json();
          if (body && body.message) message = body.message;
        } catch (_err) {
          // not JSON: keep the status line
        }
        throw new HttpError(response.status, message);
      }
      return response;
    } finally {
      clearTimeout(timeout);
    }
  }
  async function getJson(path, timeoutMs) {
    const response = await request(path, timeoutMs);
    return response.json();
  }
  function parkPath(rest) {
    return `${API}/parks/${encodeURIComponent(state.park.id)}${rest || ""}`;
  }
  function handleAuth(err) {
    if (err instanceof HttpError && err.status === 401) {
      storeKey(null);
      showKeyForm(t("key_revoked"));
      return true;
    }
    return false;
  }

  // -- live data: stream or polling --------------------------------------------------------

  function applyLatest(latest) {
    state.offsetMs = latest.server_time_ms - Date.now();
    state.staleAfterS = latest.stale_after_s || state.staleAfterS;
    for (const r of latest.readings) applyReading(r.device, r.time_ms, r.fields);
  }
  // Display latency, for bench/api.py: [reading time, time it reached the screen] [ms], last 2,000
  const shown = [];
  let unshown = [];
  window.smartparkShown = shown;
  function applyReading(device, timeMs, fields) {
    const old = state.readings.get(device);
    if (old && old.timeMs > timeMs) return;
    if (!old || old.timeMs !== timeMs) unshown.push(timeMs);
    const merged = old && old.timeMs === timeMs ? { ...old.fields, ...fields } : { ...fields };
    state.readings.set(device, { fields: merged, timeMs });
  }
  function applyAlarm(alarm) {
    if (!alarm || alarm.id === undefined) return;
    if (alarm.state === "cleared") state.alarms.delete(String(alarm.id));
    else state.alarms.set(String(alarm.id), alarm);
  }

  function stopLive() {
    state.liveGen += 1;
    if (state.pollTimer) clearTimeout(state.pollTimer);
    state.pollTimer = null;
    if (state.streamAbort) state.streamAbort.abort();
    state.streamAbort = null;
    state.live = null;
  }

  async function pollOnce() {
    const latest = await getJson(parkPath("/latest"), 5000);
    applyLatest(latest);
    state.failures = 0;
    showError("");
  }

  async function startLive() {
    stopLive();
    const gen = state.liveGen;
    try {
      await pollOnce(); // a snapshot and the server's clock, whatever comes next
    } catch (err) {
      if (handleAuth(err)) return;
      liveFailed(err);
    }
    if (gen !== state.liveGen) return;
    scheduleRender();
    if (await openStream(gen)) return;
    if (gen !== state.liveGen) return;
    startPolling(gen);
  }

  function liveFailed(err) {
    state.failures += 1;
    setStatus("down", t("offline"));
    if (state.failures >= 2) showError(t("cannot_reach", err.message));
  }

  function startPolling(gen) {
    state.live = "poll";
    setStatus("live", t("live_poll"));
    const retryStreamAt = Date.now() + STREAM_RETRY_MS;
    const tickPoll = async () => {
      if (gen !== state.liveGen) return;
      if (Date.now() > retryStreamAt) {
        startLive();
        return;
      }
      try {
        await pollOnce();
        setStatus("live", t("live_poll"));
      } catch (err) {
        if (handleAuth(err)) return;
        liveFailed(err);
      }
      if (gen !== state.liveGen) return;
      scheduleRender();
      state.pollTimer = setTimeout(tickPoll, POLL_MS);
    };
    state.pollTimer = setTimeout(tickPoll, POLL_MS);
  }

  // true when the stream answered 200 (it is then read in the background)
  async function openStream(gen) {
    const controller = new AbortController();
    state.streamAbort = controller;
    let response;
    try {
      response = await fetch(parkPath("/stream"), {
        signal: controller.signal,
        cache: "no-store",
        headers: { ...authHeaders(), Accept: "text/event-stream" },
      });
    } catch (_err) {
      return false;
    }
    if (response.status === 401) {
      handleAuth(new HttpError(401, "unauthorized"));
      return true;
    }
    if (response.status !== 200 || !response.body) {
      try {
        await response.body?.cancel();
      } catch (_err) {
        // nothing to release
      }
      return false;
    }
    state.live = "stream";
    state.failures = 0;
    setStatus("live", t("live_stream"));
    readStream(response.body, controller, gen);
    return true;
  }

  async function readStream(body, controller, gen) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let lastByte = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - lastByte > STREAM_IDLE_MS) controller.abort();
    }, 5000);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        lastByte = Date.now();
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
          handleEventBlock(block);
        }
      }
    } catch (_err) {
      // aborted or the connection dropped
    } finally {
      clearInterval(watchdog);
    }
    if (gen !== state.liveGen) return;
    // the stream ended (server restart, or this client fell behind): a fresh snapshot and stream;
    // the status turns "offline" only if the server does not answer
    setTimeout(() => {
      if (gen === state.liveGen) startLive();
    }, 2000);
  }

  function handleEventBlock(block) {
    let event = "message";
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (!line || line.startsWith(":")) continue; // ": ping"
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (!data.length) return;
    let payload;
    try {
      payload = JSON.parse(data.join("\n"));
    } catch (_err) {
      return;
    }
    handleEvent(event, payload);
  }

  function handleEvent(event, p) {
    if (event === "reading" && p.device) {
      applyReading(p.device, p.time_ms, p.fields || {});
    } else if (event === "flows") {
      state.flows = { ...p, receivedAt: Date.now() };
    } else if (event === "alarm") {
      state.alarmsAvailable = true;
      applyAlarm(p);
    } else if (event === "snapshot" || event === "message") {
      if (Array.isArray(p.readings)) {
        if (p.server_time_ms) applyLatest(p);
        else for (const r of p.readings) applyReading(r.device, r.time_ms, r.fields || {});
      }
      if (Array.isArray(p.alarms)) {
        state.alarmsAvailable = true;
        state.alarms.clear();
        p.alarms.forEach(applyAlarm);
      }
      if (p.flows) state.flows = { ...p.flows, receivedAt: Date.now() };
    }
    scheduleRender();
  }

  let renderQueued = false;
  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => {
      renderQueued = false;
      tick();
      const now = Date.now();
      for (const t of unshown) shown.push([t, now]);
      unshown = [];
      if (shown.length > 2000) shown.splice(0, shown.length - 2000);
    });
  }

  function tick() {
    if (state.view && state.view.tick) state.view.tick();
    updateStatusLine();
  }

  function updateStatusLine() {
    if (!state.park) return;
    const now = serverNow();
    let newest = null;
    for (const r of state.readings.values()) newest = newest === null ? r.timeMs : Math.max(newest, r.timeMs);
    $("updated").textContent = `${t("updated", fmtTime(now))} · ` +
      (newest !== null ? t("newest", fmtAge(Math.max(0, now - newest) / 1000)) : t("no_readings"));
  }

  function reading(id) {
    const r = state.readings.get(id);
    if (!r) return null;
    const age = Math.max(0, serverNow() - r.timeMs) / 1000;
    return { fields: r.fields, timeMs: r.timeMs, age, stale: age > state.staleAfterS };
  }

  function sumRole(role) {
    let sum = 0;
    let fresh = 0;
    let active = 0;
    const devices = state.devices.filter((d) => d.role === role);
    for (const dev of devices) {
      const r = reading(dev.id);
      if (!r || r.stale || !Number.isFinite(r.fields.power_kw)) continue;
      sum += r.fields.power_kw;
      fresh += 1;
      if (Math.abs(r.fields.power_kw) >= ACTIVE_KW) active += 1;
    }
    return { sum: fresh ? sum : null, fresh, total: devices.length, active };
  }

  // grid, PV, battery, EV, buildings and the park's whole load [kW]: the stream's `flows` when
  // fresh (its load_kw is the buildings': grid + PV + battery − EV), else summed from readings
  function currentFlows() {
    if (state.flows && Date.now() - state.flows.receivedAt < 10000) {
      const f = state.flows;
      const total = f.load_kw === null || f.load_kw === undefined ? null : f.load_kw + (f.ev_kw || 0);
      return { grid: f.grid_kw, pv: f.pv_kw, battery: f.battery_kw, ev: f.ev_kw, buildings: f.load_kw, load: total, from: "stream" };
    }
    const grid = sumRole("grid_connection").sum;
    const pv = sumRole("pv").sum;
    const battery = sumRole("storage").sum;
    const ev = sumRole("ev_charging").sum;
    const load = grid === null ? null : grid + (pv || 0) + (battery || 0);
    const buildings = load === null ? null : load - (ev || 0);
    return { grid, pv, battery, ev, buildings, load, from: "readings" };
  }

  // -- status and errors ------------------------------------------------------------------

  let statusKind = "wait";
  function setStatus(kind, text) {
    statusKind = kind;
    $("status-dot").className = `dot dot-${kind}`;
    $("status-text").textContent = text;
  }
  function showError(message) {
    const banner = $("error");
    banner.hidden = !message;
    banner.textContent = message || "";
  }

  // -- language ---------------------------------------------------------------------------

  function applyStaticLabels() {
    document.documentElement.lang = state.lang === "en" ? "en" : "zh-CN";
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    $("lang-toggle").textContent = state.lang === "en" ? "中文" : "EN";
    $("lang-toggle").title = state.lang === "en" ? "切换到中文" : "Switch to English";
    $("footer").textContent = t("footer", state.staleAfterS);
    if (state.live === "stream") setStatus("live", t("live_stream"));
    else if (state.live === "poll" && statusKind === "live") setStatus("live", t("live_poll"));
    if (state.park) {
      $("park-name").textContent = state.park.name;
      $("park-meta").textContent = t("park_meta", state.park.devices, state.park.buildings, state.park.tenants,
        `${state.park.timezone} (${zoneLabel(state.park.timezone)})`);
    }
  }

  $("lang-toggle").addEventListener("click", () => {
    state.lang = state.lang === "en" ? "zh" : "en";
    try {
      window.localStorage.setItem(LANG_STORAGE, state.lang);
    } catch (_err) {
      // not kept
    }
    applyStaticLabels();
    route();
  });

  // -- charts (hand-built SVG) ------------------------------------------------------------

  const CHART_H = 220;
  const PAD = { l: 56, r: 14, t: 12, b: 28 };

  function plotWidth(host) {
    return Math.max(120, Math.floor(host.clientWidth) - PAD.l - PAD.r);
  }

  function yTicks(min, max) {
    const span = niceCeil((max - min) / 4 || 1);
    const lo = Math.floor(min / span) * span;
    const ticks = [lo];
    while (ticks[ticks.length - 1] < max - span * 0.001 || ticks.length < 2) ticks.push(lo + ticks.length * span);
    return ticks;
  }

  function lineChart(host, points, opts) {
    host.replaceChildren();
    const width = Math.max(200, Math.floor(host.clientWidth));
    const pw = width - PAD.l - PAD.r;
    const ph = CHART_H - PAD.t - PAD.b;
    const root = svg("svg", { viewBox: `0 0 ${width} ${CHART_H}`, width, height: CHART_H, class: "chart", role: "img", "aria-label": opts.label });
    const values = points.map((p) => p.value).filter((v) => v !== null && Number.isFinite(v));
    if (!values.length) {
      root.append(svg("text", { x: width / 2, y: CHART_H / 2, "text-anchor": "middle", class: "chart-empty" }, t("chart_empty")));
      host.append(root);
      return;
    }
    let min = Math.min(0, ...values);
    let max = Math.max(...values);
    if (max === min) max = min + 1;
    const ticks = yTicks(min, max);
    min = Math.min(min, ticks[0]);
    max = ticks[ticks.length - 1];
    const x = (ms) => PAD.l + ((ms - opts.start) / (opts.end - opts.start)) * pw;
    const y = (v) => PAD.t + ph - ((v - min) / (max - min)) * ph;
    for (const v of ticks) {
      root.append(svg("line", { x1: PAD.l, x2: width - PAD.r, y1: y(v), y2: y(v), class: v === 0 ? "axis zero" : "grid-line" }));
      root.append(svg("text", { x: PAD.l - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" }, fmtAuto(v)));
    }
    const hour = 3600000;
    const stepH = Math.max(1, Math.ceil(((opts.end - opts.start) / hour) / Math.max(2, Math.floor(pw / 90))));
    for (let ms = Math.ceil(opts.start / hour) * hour; ms < opts.end; ms += hour) {
      const h = Number(new Intl.DateTimeFormat("en-GB", { timeZone: tz(), hour: "2-digit", hourCycle: "h23" }).format(new Date(ms)));
      if (h % stepH) continue;
      root.append(svg("line", { x1: x(ms), x2: x(ms), y1: PAD.t + ph, y2: PAD.t + ph + 4, class: "axis" }));
      root.append(svg("text", { x: x(ms), y: CHART_H - 8, "text-anchor": "middle", class: "tick" }, fmtTime(ms, { hour: "2-digit", minute: "2-digit" })));
    }
    // gaps: a jump of more than 3 buckets (or 2.5 times the usual spacing, for devices that
    // report more slowly than the buckets) breaks the line
    const deltas = [];
    for (let i = 1; i < points.length; i++) deltas.push(points[i].time_ms - points[i - 1].time_ms);
    deltas.sort((a, b) => a - b);
    const usual = deltas.length ? deltas[Math.floor(deltas.length / 2)] : 0;
    const gap = Math.max((opts.everyS || 60) * 3000, 2.5 * usual);
    let d = "";
    let prev = null;
    for (const p of points) {
      if (p.value === null || !Number.isFinite(p.value)) {
        prev = null;
        continue;
      }
      d += `${prev === null || p.time_ms - prev > gap ? "M" : "L"}${x(p.time_ms).toFixed(1)},${y(p.value).toFixed(1)}`;
      prev = p.time_ms;
    }
    root.append(svg("path", { d, class: `line ${opts.cls || ""}` }));
    // hover read-out
    const cursor = svg("line", { y1: PAD.t, y2: PAD.t + ph, class: "cursor", visibility: "hidden" });
    const readout = svg("text", { y: PAD.t + 12, class: "readout", visibility: "hidden" });
    root.append(cursor, readout);
    root.addEventListener("mousemove", (event) => {
      const box = root.getBoundingClientRect();
      const ms = opts.start + ((event.clientX - box.left - PAD.l) / pw) * (opts.end - opts.start);
      let best = null;
      for (const p of points) if (p.value !== null && (best === null || Math.abs(p.time_ms - ms) < Math.abs(best.time_ms - ms))) best = p;
      if (!best) return;
      const px = x(best.time_ms);
      cursor.setAttribute("x1", px);
      cursor.setAttribute("x2", px);
      readout.setAttribute("x", Math.min(px + 6, width - 150));
      readout.textContent = `${fmtTime(best.time_ms, { hour: "2-digit", minute: "2-digit" })}  ${fmtAuto(best.value)} ${opts.unit || ""}`;
      cursor.setAttribute("visibility", "visible");
      readout.setAttribute("visibility", "visible");
    });
    root.addEventListener("mouseleave", () => {
      cursor.setAttribute("visibility", "hidden");
      readout.setAttribute("visibility", "hidden");
    });
    host.append(root);
  }

  function barChart(host, periods, opts) {
    host.replaceChildren();
    const width = Math.max(200, Math.floor(host.clientWidth));
    const pw = width - PAD.l - PAD.r;
    const ph = CHART_H - PAD.t - PAD.b;
    const root = svg("svg", { viewBox: `0 0 ${width} ${CHART_H}`, width, height: CHART_H, class: "chart", role: "img", "aria-label": opts.label });
    const values = periods.map((p) => p.value).filter((v) => v !== null && Number.isFinite(v));
    if (!values.length) {
      root.append(svg("text", { x: width / 2, y: CHART_H / 2, "text-anchor": "middle", class: "chart-empty" }, t("chart_empty")));
      host.append(root);
      return;
    }
    const ticks = yTicks(Math.min(0, ...values), Math.max(...values, 1));
    const min = ticks[0];
    const max = ticks[ticks.length - 1];
    const y = (v) => PAD.t + ph - ((v - min) / (max - min)) * ph;
    for (const v of ticks) {
      root.append(svg("line", { x1: PAD.l, x2: width - PAD.r, y1: y(v), y2: y(v), class: v === 0 ? "axis zero" : "grid-line" }));
      root.append(svg("text", { x: PAD.l - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" }, fmtAuto(v)));
    }
    const slot = pw / periods.length;
    const labelEvery = Math.ceil(periods.length / Math.max(1, Math.floor(pw / 48)));
    periods.forEach((p, i) => {
      const x0 = PAD.l + i * slot + slot * 0.15;
      if (p.value !== null && Number.isFinite(p.value)) {
        const top = y(Math.max(0, p.value));
        const bottom = y(Math.min(0, p.value));
        const complete = p.completeness_pct >= 90;
        const bar = svg("rect", { x: x0, y: top, width: slot * 0.7, height: Math.max(1, bottom - top), class: `col${complete ? "" : " partial"}` });
        bar.append(svg("title", {}, `${p.label}: ${fmtAuto(p.value)} ${opts.unit} · ${t("completeness", fmtNum(p.completeness_pct, 0))}`));
        root.append(bar);
      }
      if (i % labelEvery === 0) {
        root.append(svg("text", { x: x0 + slot * 0.35, y: CHART_H - 8, "text-anchor": "middle", class: "tick" }, p.label.slice(5)));
      }
    });
    host.append(root);
  }

  // a power (or other field) chart of the last 24 h, never asking for more points than pixels
  async function seriesPanel(host, dev, field, unit, gen) {
    const panel = el("section", "panel chart-panel");
    const head = el("div", "panel-head");
    const title = el("h2", "", field === "power_kw" ? t("power_24h") : t("field_24h", field));
    const note = el("span", "panel-note", "");
    head.append(title, note);
    const body = el("div", "chart-host");
    body.dataset.chart = "series";
    panel.append(head, body);
    host.append(panel);
    const end = serverNow();
    const start = end - DAY_MS;
    const width = plotWidth(body);
    const every = Math.max(1, Math.ceil((end - start) / 1000 / width));
    body.dataset.maxPoints = String(width);
    try {
      const s = await getJson(parkPath(`/series?device=${encodeURIComponent(dev.id)}&field=${encodeURIComponent(field)}` +
        `&start=${start}&end=${end}&every=${every}&agg=mean`));
      if (gen !== state.viewGen) return;
      note.textContent = t("chart_points", s.points.length, fmtEvery(every));
      body.dataset.points = String(s.points.length);
      lineChart(body, s.points, { start, end, everyS: every, unit: s.unit || unit, label: title.textContent, cls: dev.role });
    } catch (err) {
      if (handleAuth(err)) return;
      body.textContent = err.message;
    }
  }

  async function dailyPanel(host, scope, days, gen, preferred) {
    const panel = el("section", "panel chart-panel");
    const head = el("div", "panel-head");
    const title = el("h2", "", days > 14 ? t("daily_energy_30") : t("daily_energy"));
    const note = el("span", "panel-note", "");
    head.append(title, note);
    const body = el("div", "chart-host");
    body.dataset.chart = "daily";
    panel.append(head, body);
    host.append(panel);
    const end = serverNow();
    const start = end - (days - 1) * DAY_MS;
    try {
      const e = await getJson(parkPath(`/energy?scope=${encodeURIComponent(scope)}&every=day&start=${start}&end=${end}`), 30000);
      if (gen !== state.viewGen) return;
      const fig = e.figures.find((f) => f.name === preferred) ||
        e.figures.find((f) => f.unit === "kWh" && !f.name.includes(":")) || e.figures[0];
      if (!fig) {
        body.textContent = t("chart_empty");
        return;
      }
      note.textContent = `${fig.unit} · ${t("completeness", fmtNum(fig.completeness_pct, 0))}`;
      barChart(body, fig.periods, { unit: fig.unit, label: title.textContent });
    } catch (err) {
      if (handleAuth(err)) return;
      body.textContent = err.message;
    }
  }

  const QUALITIES = ["measured", "rollover_corrected", "interpolated", "reset_corrected", "meter_replaced", "estimated", "missing"];

  async function qualityPanel(host, dev, gen) {
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
        block.append(el("div", "quality-title", `${f.field} · ${t("measured_pct", fmtNum(f.completeness_pct, 1))}`));
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
        for (const i of f.issues.slice(0, 6)) issues.append(el("li", "", `${i.code}: ${i.message}`));
        block.append(strip, chips, issues);
        body.append(block);
      }
      if (!led.fields.length) body.textContent = t("quality_none");
    } catch (err) {
      if (handleAuth(err)) return;
      body.textContent = err.message;
    }
  }

  // -- shared pieces ----------------------------------------------------------------------

  function panel(titleText, cls) {
    const p = el("section", `panel ${cls || ""}`);
    const head = el("div", "panel-head");
    head.append(el("h2", "", titleText));
    p.append(head);
    return p;
  }

  function refusal(message) {
    const box = el("section", "panel refusal");
    box.id = "refusal";
    box.setAttribute("role", "alert");
    box.append(el("h2", "", t("refused")), el("p", "", message));
    return box;
  }

  function setCrumbs(items) {
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

  function setTab(name) {
    for (const a of document.querySelectorAll("#tabs a")) {
      const on = a.dataset.tab === name;
      a.classList.toggle("on", on);
      if (on) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
  }

  // A device row with a live value: [data-device] .dev-value / .dev-age
  function deviceRow(dev, opts) {
    const row = el(opts && opts.link === false ? "div" : "a", "dev");
    if (!(opts && opts.link === false)) row.href = `#/d/${encodeURIComponent(dev.id)}`;
    row.dataset.device = dev.id;
    row.title = [dev.id, dev.kind.replace(/_/g, " "), dev.capacity_kw ? t("rated", dev.capacity_kw) : ""].filter(Boolean).join(" · ");
    const names = el("div", "dev-names");
    let where = "";
    if (dev.tenant && state.tenants.has(dev.tenant)) where = tenantName(dev.tenant);
    else if (dev.building) where = buildingName(dev.building) + (dev.floor !== null ? ` · ${t("floor_n", dev.floor)}` : "");
    names.append(el("div", "dev-name", deviceName(dev)), el("div", "dev-sub", where || dev.kind.replace(/_/g, " ")));
    const bar = el("div", "bar");
    const fill = el("div", "fill");
    bar.append(fill);
    const value = el("div", "dev-value num", "—");
    const age = el("div", "dev-age", t("no_data"));
    row.append(names, bar, value, age);
    return { dev, row, fill, value, age };
  }
  function primaryField(dev) {
    if (dev.fields.some((f) => f.name === "power_kw")) return { name: "power_kw", unit: "kW" };
    const f = dev.fields.find((x) => !x.cumulative) || dev.fields[0];
    return f ? { name: f.name, unit: f.unit } : null;
  }
  function updateDeviceRow(r, scale) {
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
  function deviceScale(devs) {
    let max = 0;
    for (const d of devs) {
      max = Math.max(max, d.capacity_kw || 0);
      const r = reading(d.id);
      if (r && Number.isFinite(r.fields.power_kw)) max = Math.max(max, Math.abs(r.fields.power_kw));
    }
    return niceCeil(max);
  }

  // -- overview ---------------------------------------------------------------------------

  const FLOW_NODES = {
    grid: { x: 110, y: 200, label: "grid", cls: "grid" },
    pv: { x: 400, y: 62, label: "pv", cls: "pv" },
    battery: { x: 400, y: 338, label: "battery", cls: "storage" },
    buildings: { x: 690, y: 120, label: "buildings", cls: "load" },
    ev: { x: 690, y: 280, label: "ev", cls: "ev" },
  };
  const BUS = { x: 400, y: 200 };

  function flowDiagram() {
    const root = svg("svg", { viewBox: "0 0 800 400", class: "flow", role: "img", "aria-labelledby": "flow-title" });
    const links = {};
    for (const [id, n] of Object.entries(FLOW_NODES)) {
      // a path from the node to the bus; "rev" animates it the other way
      const d = id === "buildings" || id === "ev"
        ? `M${BUS.x},${BUS.y} C${BUS.x + 140},${BUS.y} ${n.x - 150},${n.y} ${n.x - 84},${n.y}`
        : id === "grid" ? `M${n.x + 84},${n.y} L${BUS.x},${BUS.y}` : `M${n.x},${n.y + (n.y < BUS.y ? 34 : -34)} L${BUS.x},${BUS.y}`;
      const base = svg("path", { d, class: "link-base" });
      const flow = svg("path", { d, class: `link link-${n.cls} idle` });
      flow.dataset.link = id;
      root.append(base, flow);
      links[id] = flow;
    }
    root.append(svg("circle", { cx: BUS.x, cy: BUS.y, r: 13, class: "bus" }));
    const loadText = el("span", "park-load num", "");
    loadText.id = "park-load";
    const nodes = {};
    for (const [id, n] of Object.entries(FLOW_NODES)) {
      const g = svg("g", { class: `node node-${n.cls}`, transform: `translate(${n.x - 84},${n.y - 34})` });
      g.dataset.node = id;
      g.append(svg("rect", { width: 168, height: 68, rx: 10 }));
      g.append(svg("text", { x: 12, y: 20, class: "node-label" }, t(n.label)));
      const value = svg("text", { x: 12, y: 44, class: "node-value" }, "—");
      value.dataset.flow = id;
      const sub = svg("text", { x: 12, y: 60, class: "node-sub" }, "");
      g.append(value, sub);
      root.append(g);
      nodes[id] = { value, sub };
    }
    return { root, links, nodes, loadText };
  }

  function setLink(link, kw, outward) {
    // outward: power moves from the bus toward the node
    const idle = kw === null || !Number.isFinite(kw) || Math.abs(kw) < ACTIVE_KW;
    link.classList.toggle("idle", idle);
    link.classList.toggle("rev", !idle && outward);
    if (!idle) {
      const speed = Math.max(0.35, 2.4 - 0.6 * Math.log10(Math.max(1, Math.abs(kw))));
      link.style.animationDuration = `${speed.toFixed(2)}s`;
      link.style.strokeWidth = String(Math.min(9, 2.5 + 1.4 * Math.log10(Math.max(1, Math.abs(kw)))));
    } else {
      link.style.strokeWidth = "";
    }
  }

  function soc() {
    let w = 0;
    let s = 0;
    for (const dev of state.devices.filter((d) => d.role === "storage")) {
      const r = reading(dev.id);
      if (!r || r.stale || !Number.isFinite(r.fields.soc_pct)) continue;
      const k = dev.capacity_kwh || 1;
      s += r.fields.soc_pct * k;
      w += k;
    }
    return w ? s / w : null;
  }

  function updateFlow(fd) {
    const f = currentFlows();
    const kw = (v) => (v === null || v === undefined ? "—" : `${fmtKw(v)} kW`);
    const buildings = f.buildings;
    fd.nodes.grid.value.textContent = kw(f.grid);
    fd.nodes.grid.sub.textContent = f.grid === null ? t("no_data") : f.grid < -ACTIVE_KW ? t("exporting") : t("importing");
    setLink(fd.links.grid, f.grid, f.grid !== null && f.grid < 0);
    fd.nodes.pv.value.textContent = kw(f.pv);
    const kwp = state.devices.filter((d) => d.role === "pv").reduce((a, d) => a + (d.capacity_kw || 0), 0);
    fd.nodes.pv.sub.textContent = f.pv !== null && kwp ? t("of_kwp", fmtNum((100 * f.pv) / kwp, 0), fmtNum(kwp, 0)) : "";
    setLink(fd.links.pv, f.pv, false);
    fd.nodes.battery.value.textContent = kw(f.battery);
    const c = soc();
    const mode = f.battery === null ? t("no_data") : f.battery > ACTIVE_KW ? t("discharging") : f.battery < -ACTIVE_KW ? t("charging") : t("idle");
    fd.nodes.battery.sub.textContent = mode + (c !== null ? ` · ${t("soc", fmtNum(c, 0))}` : "");
    setLink(fd.links.battery, f.battery, f.battery !== null && f.battery < 0);
    fd.nodes.buildings.value.textContent = kw(buildings);
    fd.nodes.buildings.sub.textContent = `${state.buildings.size} × ${t("building")}`;
    setLink(fd.links.buildings, buildings, true);
    fd.nodes.ev.value.textContent = kw(f.ev);
    const ev = sumRole("ev_charging");
    fd.nodes.ev.sub.textContent = t("n_charging", ev.active, ev.total);
    setLink(fd.links.ev, f.ev, true);
    let onsite = "";
    if (f.load !== null && f.load > ACTIVE_KW) {
      const local = Math.max(0, f.pv || 0) + Math.max(0, f.battery || 0);
      onsite = ` · ${t("onsite", fmtNum(Math.min(100, (100 * local) / f.load), 0))}`;
    }
    fd.loadText.textContent = `${t("load")} ${kw(f.load)}${onsite}`;
    return f;
  }

  async function loadToday(force) {
    const park = state.park.id;
    const day = localDate(serverNow());
    if (!force && state.today && state.today.park === park && state.today.day === day && Date.now() - state.today.at < TODAY_REFRESH_MS) return;
    const [energy, indicators] = await Promise.all([
      getJson(parkPath("/energy?every=day"), 30000),
      getJson(parkPath(`/indicators?period=${day}`), 30000),
    ]);
    state.today = { park, day, energy, indicators, at: Date.now() };
  }

  async function loadTargets() {
    const park = state.park.id;
    if (state.targets && state.targets.park === park && Date.now() - state.targets.at < TARGETS_REFRESH_MS) return;
    const year = localDate(serverNow()).slice(0, 4);
    const byReads = new Map();
    let error = null;
    try {
      // the park's target profiles evaluated for the year, as the park report evaluates them
      const targets = await getJson(parkPath(`/targets?period=${year}&scope=park`), 60000);
      for (const block of targets.profiles || []) {
        for (const row of block.rows || []) {
          const prev = byReads.get(row.reads);
          // the first profile that gives a threshold wins; keep a row without one as "no threshold"
          if (!prev || (prev.threshold === null && row.threshold !== null)) {
            byReads.set(row.reads, { ...row, profile: block.id });
          }
        }
      }
    } catch (err) {
      error = err.message;
    }
    state.targets = { park, byReads, error, at: Date.now() };
  }

  function indicator(indicators, name) {
    return indicators ? indicators.indicators.find((i) => i.name === name) || null : null;
  }
  function fmtIndicator(ind) {
    if (!ind || ind.value === null) return "—";
    if (ind.unit === "fraction") return fmtPct(ind.value, 1);
    return `${fmtAuto(ind.value)} ${unitShown(ind.unit)}`;
  }
  function fmtThreshold(row) {
    if (row.unit === "fraction") return fmtPct(row.threshold, 0);
    return `${fmtAuto(row.threshold)} ${row.unit}`;
  }

  const KPIS = ["tco2_per_tce", "clean_energy_share", "self_sufficiency_rate", "renewable_penetration", "renewable_share", "pv_self_consumption_rate"];

  function kpiTiles(host, indicators, targets) {
    host.replaceChildren();
    for (const name of KPIS) {
      const ind = indicator(indicators, name);
      const tile = el("article", "kpi");
      tile.dataset.kpi = name;
      tile.append(el("h3", "kpi-label", has(`ind_${name}`) ? t(`ind_${name}`) : name));
      tile.append(el("div", "kpi-value num", fmtIndicator(ind)));
      if (ind && ind.value === null && ind.reason) tile.title = ind.reason;
      const row = targets && targets.byReads ? targets.byReads.get(name) : null;
      const tgt = el("div", "kpi-target");
      if (targets && targets.error) {
        tgt.textContent = t("targets_unavailable", targets.error);
      } else if (!row || row.threshold === null || row.threshold === undefined) {
        tgt.textContent = t("no_threshold");
        tile.classList.add("kpi-none");
      } else {
        tgt.textContent = t("target", row.direction === "<=" ? "≤" : "≥", fmtThreshold(row)) + (row.example_threshold ? ` (${t("example")})` : "");
        if (ind && ind.value !== null && (ind.completeness_pct ?? 100) < MIN_COMPLETENESS_PCT) {
          // as the report's evaluation: no verdict on less than 90 % measured data
          tgt.append(" ", el("span", "badge", t("not_enough_data")));
        } else if (ind && ind.value !== null) {
          const ok = row.direction === "<=" ? ind.value <= row.threshold : ind.value >= row.threshold;
          const badge = el("span", `badge ${ok ? "ok" : "bad"}`, ok ? t("met") : t("not_met"));
          tgt.append(" ", badge);
          tile.classList.add(ok ? "kpi-ok" : "kpi-bad");
        }
      }
      tile.append(tgt);
      const comp = el("div", "kpi-comp", ind && ind.completeness_pct !== null ? t("completeness", fmtNum(ind.completeness_pct, 0)) : "");
      tile.append(comp);
      host.append(tile);
    }
  }

  function todayPanel(host, flows) {
    host.replaceChildren();
    const today = state.today;
    const list = el("dl", "today-list");
    const add = (label, value, note, key, title) => {
      const dt = el("dt", "", label);
      const dd = el("dd", "num", value);
      if (key) dd.dataset.today = key;
      if (note) dd.append(el("span", "today-note", note));
      if (title) dd.title = title;
      list.append(dt, dd);
    };
    const energy = today ? today.energy : null;
    const figs = ["grid_import_kwh", "grid_export_kwh", "pv_generation_kwh", "load_kwh", "ev_charging_kwh", "battery_charge_kwh", "battery_discharge_kwh"];
    for (const name of figs) {
      const f = energy ? energy.figures.find((x) => x.name === name) : null;
      if (energy && !f) continue;
      add(t(`fig_${name}`), f && f.total !== null ? `${fmtNum(f.total, 0)} kWh` : "—", f ? t("completeness", fmtNum(f.completeness_pct, 0)) : "", name);
    }
    const ind = today ? today.indicators : null;
    const s2 = indicator(ind, "scope2_location_tco2");
    const s1 = indicator(ind, "scope1_tco2");
    const total = s2 && s2.value !== null ? s2.value + (s1 && s1.value !== null ? s1.value : 0) : null;
    add(t("carbon_total"), total === null ? "—" : `${fmtNum(total, 3)} tCO2`,
      s1 && s1.value === null ? `${t("carbon_scope1")}: ${t("no_data")}` : "", "carbon");
    // carbon intensity now: grid import × the grid-average factor over the park's load
    const factor = s2 ? s2.factors.find((f) => f.name === "grid_average") : null;
    let intensity = "—";
    let note = t("carbon_needs");
    let source = "";
    if (factor && flows.grid !== null && flows.load !== null && flows.load > ACTIVE_KW) {
      const kg = Math.max(0, flows.grid) * factor.value; // kgCO2/h
      intensity = `${fmtNum(kg / flows.load, 3)} kgCO2/kWh`;
      note = `${t("carbon_rate", fmtNum(kg / 1000, 3))} · ${t("factor", factor.value, factor.unit)}`;
      source = `${factor.name}: ${factor.value} ${factor.unit} · ${factor.source} (${factor.year}, ${factor.region})`;
    }
    add(t("carbon_now"), intensity, note, "intensity", source);
    host.append(list);
  }

  async function loadAlarms() {
    try {
      const body = await getJson(parkPath("/alarms?state=active"));
      const list = Array.isArray(body) ? body : body.alarms || body.items || [];
      state.alarms.clear();
      list.forEach(applyAlarm);
      state.alarmsAvailable = true;
    } catch (err) {
      if (handleAuth(err)) return;
      if (err instanceof HttpError && (err.status === 404 || err.status === 405)) state.alarmsAvailable = false;
      else if (state.alarmsAvailable === null) state.alarmsAvailable = false;
    }
  }

  function alarmsPanel(host) {
    host.replaceChildren();
    if (state.alarmsAvailable === false && !state.alarms.size) {
      host.append(el("p", "muted alarms-na", t("alarms_na")));
      return;
    }
    if (!state.alarms.size) {
      host.append(el("p", "muted", state.alarmsAvailable === null ? t("loading") : t("alarms_none")));
      return;
    }
    const rank = { critical: 0, major: 1, warning: 2, minor: 3, info: 4 };
    const alarms = [...state.alarms.values()].sort((a, b) => (rank[a.severity] ?? 5) - (rank[b.severity] ?? 5));
    const ul = el("ul", "alarm-list");
    for (const a of alarms.slice(0, 30)) {
      const li = el("li", `alarm sev-${a.severity || "info"}`);
      li.dataset.alarm = String(a.id);
      const sev = has(`sev_${a.severity}`) ? t(`sev_${a.severity}`) : a.severity || "";
      li.append(el("span", "alarm-sev", sev));
      const text = el("div", "alarm-text");
      text.append(el("div", "alarm-msg", a.message || a.kind || ""));
      const when = a.raised_ms || a.time_ms || a.since_ms;
      const bits = [a.kind, a.device, when ? fmtTime(when, { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }) : "", a.state === "acknowledged" ? t("acknowledged") : ""];
      text.append(el("div", "alarm-meta", bits.filter(Boolean).join(" · ")));
      li.append(text);
      ul.append(li);
    }
    host.append(ul);
  }

  function viewOverview(gen) {
    setTab("overview");
    setCrumbs([]);
    const view = $("view");
    const grid = el("div", "ov");
    // flow
    const flowPanel = panel(t("power_flow"), "flow-panel");
    flowPanel.querySelector("h2").id = "flow-title";
    const fd = flowDiagram();
    flowPanel.querySelector(".panel-head").append(fd.loadText);
    flowPanel.append(fd.root);
    // today
    const todayP = panel(t("today"), "today-panel");
    const todayBody = el("div", "today-body");
    todayP.append(todayBody);
    // alarms
    const alarmP = panel(t("alarms"), "alarm-panel");
    alarmP.id = "alarms";
    const alarmBody = el("div", "alarm-body");
    alarmP.append(alarmBody);
    const side = el("div", "ov-side");
    side.append(alarmP, todayP); // alarms first: what needs a person now
    // kpis
    const kpiP = panel(t("kpis"), "kpi-panel");
    const kpiBody = el("div", "kpis");
    kpiP.append(kpiBody);
    // buildings
    const bP = panel(t("all_buildings"), "bld-panel");
    const bBody = el("div", "bld-cards");
    bP.append(bBody);
    const bRows = [];
    for (const b of state.buildings.values()) {
      const card = el("a", "bld-card");
      card.href = `#/b/${encodeURIComponent(b.id)}`;
      card.dataset.building = b.id;
      card.append(el("div", "bld-name", b.name));
      const v = el("div", "bld-value num", "—");
      const sub = el("div", "bld-sub", `${b.floors.length} × ${t("floor")}`);
      card.append(v, sub);
      bBody.append(card);
      const feeder = state.devices.find((d) => d.role === "feeder" && d.building === b.id);
      bRows.push({ feeder, v });
    }
    // devices by role
    const dP = panel(t("devices"), "dev-panel");
    const dBody = el("div", "dev-groups");
    dP.append(dBody);
    const groups = [];
    for (const role of ["grid_connection", "feeder", "pv", "storage", "ev_charging", "load", "gas", "environment"]) {
      const devs = state.devices.filter((d) => d.role === role);
      if (!devs.length) continue;
      const g = el("section", `dev-group group-${role}${devs.length > 12 ? " group-wide" : ""}`);
      g.dataset.role = role;
      const head = el("header", "group-head");
      const total = el("span", "group-total num", "");
      const meta = el("span", "group-meta", "");
      head.append(el("h3", "", roleLabel(role)), total, meta);
      const list = el("div", "dev-list");
      const rows = devs.map((d) => deviceRow(d));
      rows.forEach((r) => list.append(r.row));
      g.append(head, list);
      dBody.append(g);
      groups.push({ role, devs, rows, total, meta });
    }
    grid.append(flowPanel, side, kpiP, bP, dP);
    view.replaceChildren(grid);

    const renderSlow = () => {
      const flows = currentFlows();
      todayPanel(todayBody, flows);
      kpiTiles(kpiBody, state.today ? state.today.indicators : null, state.targets);
    };
    let lastSlow = 0;
    const tickView = () => {
      const flows = updateFlow(fd);
      for (const b of bRows) {
        const r = b.feeder ? reading(b.feeder.id) : null;
        b.v.textContent = r && !r.stale && Number.isFinite(r.fields.power_kw) ? `${fmtKw(r.fields.power_kw)} kW` : "—";
      }
      for (const g of groups) {
        const scale = deviceScale(g.devs);
        g.rows.forEach((r) => updateDeviceRow(r, scale));
        const s = sumRole(g.role);
        g.total.textContent = s.sum === null ? "" : `${fmtKw(s.sum)} kW`;
        const staleN = g.devs.filter((d) => !reading(d.id) || reading(d.id).stale).length;
        g.meta.textContent = t("n_devices", g.devs.length) + (staleN > 0 ? ` · ${t("n_stale", staleN)}` : "");
      }
      alarmsPanel(alarmBody);
      if (Date.now() - lastSlow > 5000) {
        lastSlow = Date.now();
        if (flows) renderSlow();
      }
    };
    state.view = { tick: tickView };
    tickView();
    const refresh = async () => {
      if (gen !== state.viewGen) return;
      try {
        await loadToday(false);
      } catch (err) {
        if (handleAuth(err)) return;
      }
      if (gen !== state.viewGen) return;
      renderSlow();
      await loadTargets();
      if (gen !== state.viewGen) return;
      renderSlow();
      setTimeout(refresh, TODAY_REFRESH_MS);
    };
    loadAlarms().then(() => gen === state.viewGen && alarmsPanel(alarmBody));
    refresh();
  }

  // -- drill-down -------------------------------------------------------------------------

  function crumbsBase() {
    return [[state.park.name, "#/"], [t("all_buildings"), "#/buildings"]];
  }

  function viewBuildings() {
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
      card.append(el("div", "bld-name", b.name), v, el("div", "bld-sub", `${b.floors.length} × ${t("floor")}`));
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

  function floorPowerDevice(bId, n) {
    const devs = state.devices.filter((d) => d.building === bId && d.floor === n && d.fields.some((f) => f.name === "power_kw"));
    return devs.find((d) => d.role === "load") || devs.find((d) => d.role === "feeder") || devs[0] || null;
  }

  function viewBuilding(bId, gen) {
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

  function viewFloor(bId, n, gen) {
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

  function viewDevice(id, gen) {
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
    fact(t("kind"), `${dev.kind.replace(/_/g, " ")} · ${roleLabel(dev.role)}`);
    if (dev.building) fact(t("building"), buildingName(dev.building) + (dev.floor !== null ? ` · ${t("floor_n", dev.floor)}` : ""));
    if (dev.tenant) fact(t("tenant"), tenantName(dev.tenant));
    if (dev.capacity_kw) fact(t("rating"), dev.capacity_kw + (dev.capacity_kwh ? ` kW / ${dev.capacity_kwh} kWh` : " kW"));
    const liveBox = el("div", "live-fields");
    head.append(facts, liveBox);
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
          chip.append(el("span", "lf-name", f.name), el("span", "lf-value num", `${fmtAuto(v)} ${unitShown(f.unit)}`));
          liveBox.append(chip);
        }
        liveBox.append(el("span", "muted", r.stale ? `${t("stale")} · ${fmtAge(r.age)}` : fmtAge(r.age)));
      },
    };
    state.view.tick();
  }

  function notFound(what) {
    setCrumbs([[state.park.name, "#/"]]);
    $("view").replaceChildren(el("p", "panel", t("not_found", what)));
    state.view = null;
  }

  function showRefusal(message) {
    setCrumbs([]);
    $("view").replaceChildren(refusal(message));
    state.view = null;
  }

  // -- tenants ----------------------------------------------------------------------------

  function viewTenants() {
    setTab("tenant");
    if (state.role === "tenant") {
      window.location.replace(`#/t/${encodeURIComponent(ownTenant())}`);
      return;
    }
    setCrumbs([[state.park.name, "#/"], [t("tenants_title"), null]]);
    const p = panel(t("tenants_title"), "");
    const table = el("table", "floors");
    const hr = el("tr");
    for (const h of [t("tenant"), t("sector"), t("occupies"), t("power_now")]) hr.append(el("th", "", h));
    const thead = el("thead");
    thead.append(hr);
    const tbody = el("tbody");
    const rows = [];
    for (const tn of state.tenants.values()) {
      const tr = el("tr");
      tr.dataset.tenant = tn.id;
      const a = el("a", "", tn.name);
      a.href = `#/t/${encodeURIComponent(tn.id)}`;
      const c0 = el("td");
      c0.append(a);
      const floors = [];
      for (const b of state.buildings.values()) for (const f of b.floors) if (f.tenant === tn.id) floors.push(`${buildingName(b.id)} ${t("floor_n", f.number)}`);
      const v = el("td", "num", "—");
      tr.append(c0, el("td", "", tn.sector || ""), el("td", "", floors.join(", ")), v);
      tbody.append(tr);
      rows.push({ devs: tenantMeters(tn.id), v });
    }
    table.append(thead, tbody);
    const tw = el("div", "table-wrap");
    tw.append(table);
    p.append(tw);
    $("view").replaceChildren(p);
    state.view = {
      tick() {
        for (const r of rows) {
          const kw = tenantPower(r.devs);
          r.v.textContent = kw === null ? "—" : `${fmtKw(kw)} kW`;
        }
      },
    };
    state.view.tick();
  }

  // the tenant's highest power meters (a feeder or its floor loads)
  function tenantMeters(id) {
    const own = state.devices.filter((d) => d.tenant === id && d.fields.some((f) => f.name === "power_kw"));
    return own.filter((d) => !own.some((p) => p.id === d.parent));
  }
  function tenantPower(devs) {
    let sum = null;
    for (const d of devs) {
      const r = reading(d.id);
      if (r && !r.stale && Number.isFinite(r.fields.power_kw)) sum = (sum || 0) + r.fields.power_kw;
    }
    return sum;
  }
  function ownTenant() {
    return [...state.tenants.keys()][0];
  }

  const TENANT_INDICATORS = ["comprehensive_energy_tce", "scope2_location_tco2", "scope1_tco2", "tco2_per_tce", "renewable_electricity_share", "kgco2_per_m2", "peak_demand_kw", "electricity_cost_cny"];

  function viewTenant(id, gen) {
    setTab("tenant");
    // a tenant key sees its own tenant only: refuse before asking the server for anything
    if (!state.tenants.has(id)) {
      if (state.role === "tenant" || state.role === null) return showRefusal(t("refused_tenant", id));
      return notFound(id);
    }
    const tn = state.tenants.get(id);
    const crumbs = state.role === "tenant" ? [[state.park.name, null], [tn.name, null]] : [[state.park.name, "#/"], [t("tenants_title"), "#/tenants"], [tn.name, null]];
    setCrumbs(crumbs);
    const wrap = el("div", "drill tenant-page");
    wrap.dataset.tenant = id;
    const head = panel(tn.name, "drill-head");
    const floors = [];
    for (const b of state.buildings.values()) {
      for (const f of b.floors) {
        if (f.tenant !== id) continue;
        const a = el("a", "", `${buildingName(b.id)} · ${t("floor_n", f.number)}`);
        a.href = state.role === "tenant" ? "#" : `#/b/${encodeURIComponent(b.id)}/f/${f.number}`;
        floors.push(a);
      }
    }
    const facts = el("dl", "facts");
    facts.append(el("dt", "", t("sector")), el("dd", "", tn.sector || "—"), el("dt", "", t("occupies")));
    const fl = el("dd");
    floors.forEach((a, i) => {
      if (i) fl.append(", ");
      if (state.role === "tenant") fl.append(a.textContent);
      else fl.append(a);
    });
    facts.append(fl);
    const now = el("div", "big num", "—");
    head.append(facts, el("div", "muted", t("power_now")), now);
    // indicators of this month
    const month = localDate(serverNow()).slice(0, 7);
    const indP = panel(t("month_indicators", month), "kpi-panel");
    const indBody = el("div", "kpis");
    indBody.id = "tenant-indicators";
    indP.append(indBody);
    // devices
    const devs = state.devices.filter((d) => d.tenant === id);
    const devP = panel(t("devices"), "");
    const list = el("div", "dev-list");
    const rows = devs.map((d) => deviceRow(d));
    rows.forEach((r) => list.append(r.row));
    devP.append(list);
    // reports
    const repP = panel(t("reports"), "reports-panel");
    repP.id = "reports";
    const year = Number(localDate(serverNow()).slice(0, 4));
    const form = el("div", "report-row");
    const yl = el("label", "", `${t("year")} `);
    const ys = el("select");
    ys.id = "report-year";
    for (const y of [year, year - 1, year - 2]) {
      const o = el("option", "", String(y));
      o.value = String(y);
      ys.append(o);
    }
    yl.append(ys);
    form.append(yl);
    const msg = el("span", "muted", "");
    for (const fmt of ["pdf", "html", "csv", "json"]) {
      const btn = el("button", "dl", fmt.toUpperCase());
      btn.type = "button";
      btn.dataset.format = fmt;
      btn.addEventListener("click", () => downloadReport(id, ys.value, fmt, msg));
      form.append(btn);
    }
    form.append(msg);
    repP.append(form);
    const charts = el("div", "charts");
    wrap.append(head, indP, charts, devP, repP);
    $("view").replaceChildren(wrap);
    dailyPanel(charts, `tenant:${id}`, 30, gen, "electricity_kwh");
    const meters = tenantMeters(id);
    if (meters.length === 1) seriesPanel(charts, meters[0], "power_kw", "kW", gen);
    getJson(parkPath(`/indicators?period=${month}&scope=${encodeURIComponent(`tenant:${id}`)}`), 30000)
      .then((ind) => {
        if (gen !== state.viewGen) return;
        indBody.replaceChildren();
        for (const name of TENANT_INDICATORS) {
          const i = indicator(ind, name);
          if (!i) continue;
          const tile = el("article", "kpi");
          tile.dataset.kpi = name;
          tile.append(el("h3", "kpi-label", has(`ind_${name}`) ? t(`ind_${name}`) : name), el("div", "kpi-value num", fmtIndicator(i)));
          tile.append(el("div", "kpi-comp", i.value === null ? i.reason || "" : t("completeness", fmtNum(i.completeness_pct || 0, 0))));
          if (i.value === null) tile.classList.add("kpi-none");
          indBody.append(tile);
        }
      })
      .catch((err) => {
        if (handleAuth(err)) return;
        if (err instanceof HttpError && err.status === 403) {
          showRefusal(t("refused_tenant", id));
          return;
        }
        indBody.textContent = err.message;
      });
    state.view = {
      tick() {
        const kw = tenantPower(meters);
        now.textContent = kw === null ? "—" : `${fmtKw(kw)} kW`;
        const scale = deviceScale(devs);
        rows.forEach((r) => updateDeviceRow(r, scale));
      },
    };
    state.view.tick();
  }

  async function downloadReport(tenant, year, fmt, msg) {
    msg.textContent = t("downloading");
    try {
      const response = await request(`${API}/tenants/${encodeURIComponent(tenant)}/reports/${year}?format=${fmt}&lang=${state.lang}`, 120000);
      const blob = await response.blob();
      const cd = response.headers.get("Content-Disposition") || "";
      const m = /filename="([^"]+)"/.exec(cd);
      const a = el("a");
      a.href = URL.createObjectURL(blob);
      a.download = m ? m[1] : `${tenant}-${year}.${fmt}`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 60000);
      msg.textContent = a.download;
    } catch (err) {
      if (handleAuth(err)) return;
      msg.textContent = t("download_failed", err.message);
    }
  }

  // -- city -------------------------------------------------------------------------------

  const CITY_COLUMNS = ["comprehensive_energy_tce", "scope2_location_tco2", "tco2_per_tce", "clean_energy_share", "renewable_share", "self_sufficiency_rate", "pv_self_consumption_rate", "peak_demand_kw"];

  function viewCity(gen, periodKind) {
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
      c0.append(a, el("div", "dev-sub", `${t("n_devices", pk.devices)} · ${pk.grid_region}`));
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

  // -- routing ----------------------------------------------------------------------------

  function route() {
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
    try {
      if (parts[0] === "city") viewCity(gen);
      else if (parts[0] === "t" && parts[1]) viewTenant(parts[1], gen);
      else if (parts[0] === "tenants") viewTenants();
      else if (parts[0] === "d" && parts[1]) viewDevice(parts[1], gen);
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
  window.addEventListener("hashchange", () => {
    if (/^#(.*&)?key=/.test(window.location.hash)) {
      takeKeyFromFragment();
      start();
      return;
    }
    route();
  });

  // -- start ------------------------------------------------------------------------------

  async function detectRole() {
    // GET /me names the key's role (and its park and tenant)
    const me = await getJson(`${API}/me`);
    return me.role;
  }

  async function loadPark(parkId) {
    stopLive();
    const [detail, devices] = await Promise.all([
      getJson(`${API}/parks/${encodeURIComponent(parkId)}`),
      getJson(`${API}/parks/${encodeURIComponent(parkId)}/devices`),
    ]);
    state.park = detail.park;
    state.tenants = new Map(detail.tenants.map((x) => [x.id, x]));
    state.buildings = new Map(detail.buildings.map((x) => [x.id, x]));
    state.devices = devices;
    state.byId = new Map(devices.map((d) => [d.id, d]));
    state.readings.clear();
    state.alarms.clear();
    state.alarmsAvailable = null;
    state.flows = null;
    state.today = null;
    state.targets = null;
    document.title = `${state.park.name} · smartpark`;
    const select = $("park-select");
    select.replaceChildren(...state.parks.map((p) => {
      const option = el("option", "", p.name);
      option.value = p.id;
      option.selected = p.id === parkId;
      return option;
    }));
    $("park-select-label").hidden = state.parks.length < 2;
    applyStaticLabels();
    route();
    startLive();
  }

  async function start() {
    let parks;
    try {
      parks = await getJson(`${API}/parks`);
      state.role = await detectRole();
    } catch (err) {
      if (err instanceof HttpError && err.status === 401) {
        const refused = Boolean(state.key);
        storeKey(null);
        showKeyForm(refused ? t("key_refused") : t("key_enter"));
        return;
      }
      setStatus("down", t("offline"));
      showError(t("cannot_reach", err.message));
      return;
    }
    if (!parks.length) {
      setStatus("down", "—");
      showError("The registry has no parks.");
      return;
    }
    state.parks = parks;
    const wanted = new URLSearchParams(window.location.search).get("park");
    const parkId = parks.some((p) => p.id === wanted) ? wanted : parks[0].id;
    $("park-select").onchange = (event) => {
      const url = new URL(window.location.href);
      url.searchParams.set("park", event.target.value);
      window.history.replaceState(null, "", url);
      loadPark(event.target.value).catch((err) => showError(err.message));
    };
    try {
      await loadPark(parkId);
    } catch (err) {
      if (handleAuth(err)) return;
      setStatus("down", t("offline"));
      showError(`${parkId}: ${err.message}`);
    }
  }

  // -- boot -------------------------------------------------------------------------------

  try {
    const saved = window.localStorage.getItem(LANG_STORAGE);
    const asked = new URLSearchParams(window.location.search).get("lang");
    state.lang = asked === "en" || asked === "zh" ? asked : saved === "en" ? "en" : "zh";
  } catch (_err) {
    state.lang = "zh";
  }
  applyStaticLabels();
  $("key-message").textContent = t("key_enter");
  // ages keep counting between updates and while the server is unreachable
  setInterval(tick, 1000);
  takeKeyFromFragment();
  start();
})();
