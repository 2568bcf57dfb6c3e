// What every module shares: the page's state, and the timings of its requests.

export const POLL_MS = 2000;
export const STREAM_RETRY_MS = 300000; // while polling, ask for the stream again every 5 min
export const STREAM_IDLE_MS = 45000; // no byte (not even a ping) for this long: reconnect
export const TODAY_REFRESH_MS = 60000;
export const TARGETS_REFRESH_MS = 1800000;
export const REQUEST_TIMEOUT_MS = 15000;
export const PENDING_REFRESH_MS = 10000; // the pending devices' list, while it is shown
export const API = "api/v1";
export const KEY_STORAGE = "smartpark.apiKey";
export const LANG_STORAGE = "smartpark.lang";
export const ACTIVE_KW = 0.1; // below this power [kW] a device, link or battery shows as idle
export const DAY_MS = 86400000;

export const state = {
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
  staleAfterS: null, // [s] GET /ui-config, then every /latest
  minCompletenessPct: null, // [%] GET /ui-config: below this a target gets no verdict
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
