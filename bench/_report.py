"""The benchmark's printed table and notes."""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench._measure import REPO

M2I_VERSION = "1.5.2"
# Targets (the ingest goals; see docs/benchmarks.md)
TARGET_SINGLE_PER_PROCESS = 8_000  # readings/s per collector process, single-reading messages
TARGET_BATCH = 50_000  # readings/s, 100-reading batches
TARGET_BATCH_OF_INFLUX = 0.80  # and at least this fraction of the same run's InfluxDB ceiling


# -- the report ----------------------------------------------------------------------------------


def _stats(values: Sequence[float | None]) -> tuple[float, float, float] | None:
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return statistics.median(vals), min(vals), max(vals)


def _fmt(st: tuple[float, float, float] | None, runs: int, digits: int = 0) -> str:
    if st is None:
        return "–"
    med, lo, hi = st
    text = f"{med:,.{digits}f}"
    return text if runs == 1 else f"{text} ({lo:,.{digits}f}–{hi:,.{digits}f})"


def _cpu_text(cpu: dict[str, float]) -> str:
    short = {"mosquitto": "broker", "influxd": "influxd", "paho_sub": "sub"}
    return ", ".join(
        f"{short.get(k, k.replace('collector-', 'c'))} {v:.0f}" for k, v in cpu.items()
    )


def build_table(results: list[dict[str, Any]], runs: int) -> tuple[str, list[dict[str, Any]]]:
    """The markdown table and its rows (medians over runs; min–max in brackets)."""
    by_case: dict[str, list[dict[str, Any]]] = {}
    for res in results:
        by_case.setdefault(res["case"], []).append(res)
    rows: list[dict[str, Any]] = []

    def ok(res: dict[str, Any]) -> bool:
        return "error" not in res

    paho = [r for r in by_case.get("paho_qos1", []) if ok(r)]
    paho_rate = _stats([r.get("msgs_s") for r in paho])
    influx = [r for r in by_case.get("influx_write", []) if ok(r)]
    influx_rate = _stats([r.get("points_s") for r in influx])
    which = " (run 1)" if runs > 1 else ""
    header = (
        "| Case | Rate (median, min–max) | Per process | Target | Result | Loss (max) "
        f"| Latency p50 / p99 [ms] (paced) | Peak RSS [MiB] | CPU % during the burst{which} |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    if paho or "paho_qos1" in by_case:
        cpu = paho[0].get("cpu_pct", {}) if paho else {}
        lines.append(
            f"| Ceiling: mosquitto → bare paho 2.2 subscriber, QoS 1, "
            f"{paho[0]['n'] if paho else 0:,} msgs | {_fmt(paho_rate, runs)} msg/s | – | – | – | "
            f"{max((r.get('loss', 0) for r in paho), default='–')} | – | – | {_cpu_text(cpu)} |"
        )
        rows.append({"case": "paho_qos1", "rate": paho_rate})
    if influx or "influx_write" in by_case:
        cpu = influx[0].get("cpu_pct", {}) if influx else {}
        pts = influx[0]["points"] if influx else 0
        lines.append(
            f"| Ceiling: InfluxDB /write, 5,000-line batches, 1 writer, {pts:,} points "
            f"| {_fmt(influx_rate, runs)} points/s | – | – | – | "
            f"{max((r.get('loss', 0) for r in influx), default='–')} | – | – | {_cpu_text(cpu)} |"
        )
        rows.append({"case": "influx_write", "rate": influx_rate})

    for case, label in (
        ("single_1p", "smartpark collect, 1 process, single-reading messages"),
        ("single_1p_nofollow", "the same, ledger follower off (SMARTPARK_LEDGER_FOLLOW=off)"),
        ("single_1p_thread", "the same, follower a thread (SMARTPARK_LEDGER_FOLLOW=thread)"),
        ("single_1p_pair", "the same, follower off, a `smartpark follow` process beside it"),
        ("single_2p", "smartpark collect, 2 processes (--share), single-reading messages"),
        ("batch100_1p", "smartpark collect, 1 process, 100-reading batches"),
        ("batch100_2p", "smartpark collect, 2 processes (--share), 100-reading batches"),
    ):
        all_res = by_case.get(case)
        if not all_res:
            continue
        good = [r for r in all_res if ok(r) and r.get("burst")]
        procs = all_res[0].get("processes", 1)
        rate = _stats([r["burst"]["rate_readings_s"] for r in good])
        per_proc = _stats([(r["burst"]["rate_readings_s"] or 0) / procs for r in good])
        losses = [r["burst"]["loss"] for r in good]
        losses += [r["paced"]["loss"] for r in good if r.get("paced")]
        lossless = (
            len(good) == len(all_res)
            and all(x == 0 for x in losses)
            and all(r.get("paced") for r in good)
        )
        p50 = _stats([r["paced"]["latency_p50_ms"] for r in good if r.get("paced")])
        p99 = _stats([r["paced"]["latency_p99_ms"] for r in good if r.get("paced")])
        offered = _stats([r["paced"]["offered_msgs_s"] for r in good if r.get("paced")])
        rss = _stats([max((v or 0) for v in r["peak_rss_kib"].values()) / 1024 for r in good])
        n = all_res[0].get("readings", 0)
        if case.startswith("single"):
            frac = (
                f"; {per_proc[0] / paho_rate[0]:.0%} of bare paho" if per_proc and paho_rate else ""
            )
            target = f"≥ {TARGET_SINGLE_PER_PROCESS:,}/s per process; 0 lost"
            passed = bool(per_proc and per_proc[0] >= TARGET_SINGLE_PER_PROCESS and lossless)
        else:
            frac = (
                f"; {rate[0] / influx_rate[0]:.0%} of InfluxDB ceiling"
                if rate and influx_rate
                else ""
            )
            target = f"≥ {TARGET_BATCH:,}/s and ≥ {TARGET_BATCH_OF_INFLUX:.0%} of InfluxDB; 0 lost"
            passed = bool(
                rate
                and influx_rate
                and rate[0] >= TARGET_BATCH
                and rate[0] >= TARGET_BATCH_OF_INFLUX * influx_rate[0]
                and lossless
            )
        cpu = good[0]["burst"]["cpu_pct"] if good else {}
        lat = (
            f"{_fmt(p50, runs)} / {_fmt(p99, runs)} at {_fmt(offered, runs)} msg/s" if p50 else "–"
        )
        errors = [r["error"] for r in all_res if "error" in r]
        result = "PASS" if passed else "FAIL"
        if errors:
            result += f" ({errors[0]})"
        lines.append(
            f"| {label}, {n:,} readings | {_fmt(rate, runs)} readings/s | "
            f"{_fmt(per_proc, runs)}{frac} | {target} | **{result}** | "
            f"{max(losses, default='–')} | {lat} | {_fmt(rss, runs, 1)} | {_cpu_text(cpu)} |"
        )
        rows.append(
            {
                "case": case,
                "rate": rate,
                "per_process": per_proc,
                "loss_max": max(losses, default=None),
                "p50_ms": p50,
                "p99_ms": p99,
                "peak_rss_mib": rss,
                "pass": passed,
            }
        )
    m2i = by_case.get("m2i_single")
    if m2i:
        good = [r for r in m2i if ok(r) and r.get("burst")]
        rate = _stats([r["burst"]["rate_readings_s"] for r in good])
        losses = [r["burst"]["loss"] for r in good]
        rss = _stats([(r.get("peak_rss_kib") or 0) / 1024 for r in good])
        cpu = good[0]["burst"]["cpu_pct"] if good else {}
        err = next((r["error"] for r in m2i if "error" in r), "")
        lines.append(
            f"| mqtt2influxdb {M2I_VERSION} (peer), single-reading messages, "
            f"{m2i[0].get('readings', 0):,} readings | {_fmt(rate, runs)} readings/s | "
            f"{_fmt(rate, runs)} | reference | {err or '–'} | {max(losses, default='–')} | "
            f"– | {_fmt(rss, runs, 1)} | {_cpu_text(cpu)} |"
        )
        rows.append({"case": "m2i_single", "rate": rate, "loss_max": max(losses, default=None)})
    return header + "\n".join(lines) + "\n", rows


def _lag(phase: dict[str, Any], q: str) -> str:
    value = (phase.get("collector_lag_s") or {}).get(q)
    return "?" if value is None else f"{value * 1000:.0f} ms"


def _costs(phase: dict[str, Any]) -> str:
    """CPU per reading of each process, the share of time spent in store writes, and the
    readings per store write: what tells which part limited the rate."""
    rate = phase.get("rate_readings_s") or 0
    if not rate:
        return "–"
    procs = sum(1 for name in phase["cpu_pct"] if name.startswith("collector")) or 1
    # a collector's CPU is per reading it handled (its share of the total), the others' per reading
    parts = [
        f"{name} {10_000 * pct / (rate / procs if name.startswith('collector') else rate):.1f}"
        " µs/reading"
        for name, pct in phase["cpu_pct"].items()
    ]
    counts = phase.get("collector_counts") or {}
    writes = counts.get("store_write_seconds_count")
    end = phase.get("all_stored_at") or phase.get("last_increase_at")
    if writes and end:
        busy = counts.get("store_write_seconds_sum", 0.0) / (end - phase["publish_start"])
        parts.append(
            f"{counts.get('readings_stored_total', 0) / writes:,.0f} readings per store write, "
            f"writer threads in store writes {100 * busy / procs:.0f} % of the time"
        )
    return "; ".join(parts)


def details(results: list[dict[str, Any]]) -> str:
    """Per case: burst latency, steady slope, CPU and whatever went wrong."""
    out = []
    for res in results:
        head = f"- run {res.get('run')} {res['case']}"
        if "error" in res:
            out.append(f"{head}: ERROR {res['error']}")
        if res["case"] == "paho_qos1" and res.get("msgs_s"):
            cpu = res.get("cpu_pct", {})
            out.append(
                f"{head}: {res['received']:,} of {res['n']:,} received, {res['msgs_s']:,.0f} msg/s "
                f"first→last ({res['msgs_s_from_publish_start'] or 0:,.0f} from publish start); "
                f"subscriber {res['subscriber_us_per_msg']:.1f} µs/msg, broker "
                f"{10_000 * cpu.get('mosquitto', 0) / res['msgs_s']:.1f} µs/msg"
            )
        if res["case"] == "influx_write" and res.get("points_s"):
            cpu = res.get("cpu_pct", {}).get("influxd", 0)
            out.append(
                f"{head}: {res['counted']:,} of {res['points']:,} points counted, "
                f"{res['points_s']:,.0f} points/s, influxd {10_000 * cpu / res['points_s']:.1f} "
                f"µs/point, writer {res['writer_cpu_pct']} % CPU, "
                f"{res['bytes_per_batch'] / 1000:.0f} kB per request"
            )
        burst = res.get("burst")
        if burst and res["case"] == "m2i_single":
            out.append(
                f"{head}: {burst['readings_expected']:,} readings → {burst['stored']:,} stored, "
                f"{burst['rate_readings_s'] or 0:,.0f}/s; {burst['note'] or 'complete'}"
            )
            if (burst["rate_readings_s"] or 0) > res.get("devices", 1e9):
                # it stamps whole seconds: two readings of a device in one second are one point
                out.append("    rate above one reading per device per second: count may be low")
        elif burst:
            steady = burst.get("steady_rate_readings_s")
            got = burst["verified_count"]
            got = burst["stored"] if got is None else got
            out.append(
                f"{head}: burst {burst['readings_expected']:,} readings "
                f"({burst['readings_published']:,} published) → {got:,} stored, "
                f"{burst['rate_readings_s'] or 0:,.0f}/s (10–90 % slope "
                f"{steady or 0:,.0f}/s), publisher {burst['publisher_cpu_pct']} % CPU; "
                f"burst latency p50/p99/max {burst['latency_p50_ms']}/{burst['latency_p99_ms']}/"
                f"{burst['latency_max_ms']} ms (collector's histogram: p50 ≤ "
                f"{_lag(burst, 'p50')}, p99 ≤ {_lag(burst, 'p99')}); {burst['note'] or 'complete'}"
            )
        if burst and res["case"] != "m2i_single":
            out.append(f"    burst costs: {_costs(burst)}")
        paced = res.get("paced")
        if paced:
            out.append(
                f"    paced {paced['offered_msgs_s']:,.0f} msg/s: {paced['readings_expected']:,}"
                f" readings, loss {paced['loss']}, latency p50/p99/max "
                f"{paced['latency_p50_ms']}/{paced['latency_p99_ms']}/"
                f"{paced['latency_max_ms']} ms (collector's histogram: p50 ≤ {_lag(paced, 'p50')},"
                f" p99 ≤ {_lag(paced, 'p99')}), "
                f"CPU % {_cpu_text(paced['cpu_pct'])}"
            )
        for name, logf in (res.get("collector_logs") or {}).items():
            if logf["warnings_errors"]:
                out.append(
                    f"    {name}: {logf['warnings_errors']} WARNING/ERROR lines, e.g. "
                    f"{logf['examples'][:2]}"
                )
            if logf["final_line"]:
                out.append(f"    {name}: {logf['final_line'].split(': ', 1)[-1]}")
        if res.get("quarantined"):
            out.append(f"    quarantined: {res['quarantined']}")
        for line in (res.get("broker_findings") or [])[:5]:
            out.append(f"    broker: {line}")
        for line in (res.get("m2i_log") or [])[:5]:
            out.append(f"    mqtt2influxdb: {line}")
        if res.get("exit_codes") and any(v not in (0, None) for v in res["exit_codes"].values()):
            out.append(f"    exit codes: {res['exit_codes']}")
    return "\n".join(out)


def machine_notes() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    git = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "ingest", "store", "config", "smartpark"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split("\n")
        changed = len([d for d in dirty if d.strip()])
        git = f"{head} ({changed} uncommitted files in the code under test)"
    import paho.mqtt

    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "mem_gib": round(mem_kib / 2**20, 1),
        "python": platform.python_version(),
        "paho_mqtt": paho.mqtt.__version__,
        "kernel": platform.release(),
        "git": git,
        "loadavg_start": os.getloadavg(),
    }
