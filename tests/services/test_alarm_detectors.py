"""The alarm detectors on hand-built series (known values, boundaries, NaN, out-of-order and
empty input), the park-wide verdicts, and the scrape of the collector's Prometheus text."""

from __future__ import annotations

import math
import socket
import zoneinfo
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from prometheus_client import start_http_server

from ingest.metrics import CollectorMetrics
from services.alarms.collector_metrics import (
    metrics_url_of,
    read_spool_bytes,
    spool_bytes_from_text,
)
from services.alarms.detectors import (
    Detector,
    NightBaseLoadDetector,
    OfflineDetector,
    RegisterResetDetector,
    RegisterStuckDetector,
    ThresholdDetector,
    Verdict,
    night_baseline,
    night_windows,
    quarantine_rate_verdict,
    spool_growth_verdict,
)

S = 1_000_000_000
MIN = 60 * S
T0 = 1_764_000_000 * S  # 2025-11-24T16:00:00Z, 00:00 in Wuhan
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def feed(det: Detector, series: list[tuple[int, dict[str, float]]]) -> None:
    for t, fields in series:
        det.feed(t, fields)


# -- threshold -----------------------------------------------------------------------------------


def test_threshold_without_readings_has_no_verdict() -> None:
    det = ThresholdDetector("power_kw", 100.0, for_s=0, hysteresis=0)
    verdict = det.verdict(T0)
    assert verdict.on is None
    assert math.isnan(verdict.value)


def test_threshold_is_strictly_above() -> None:
    det = ThresholdDetector("power_kw", 100.0, for_s=0, hysteresis=0)
    det.feed(T0, {"power_kw": 100.0})  # at the threshold: neither above nor below it
    assert det.verdict(T0).on is None
    det.feed(T0 + S, {"power_kw": 100.5})
    assert det.verdict(T0 + S) == Verdict(True, 100.5, 100.0)
    det.feed(T0 + 2 * S, {"power_kw": 99.5})
    assert det.verdict(T0 + 2 * S).on is False


def test_threshold_ignores_nan_other_fields_and_old_readings() -> None:
    det = ThresholdDetector("power_kw", 100.0, for_s=600, hysteresis=10)
    feed(
        det,
        [
            (T0, {"power_kw": 150.0}),
            (T0 + 5 * MIN, {"power_kw": math.nan}),  # no value: the run goes on
            (T0 + 6 * MIN, {"current_a": 5.0}),  # another field only
            (T0 + 7 * MIN, {"power_kw": 150.0}),
            (T0 + 4 * MIN, {"power_kw": 20.0}),  # older than the last reading: ignored
            (T0 + 10 * MIN, {"power_kw": 140.0}),
        ],
    )
    verdict = det.verdict(T0 + 10 * MIN)
    assert (verdict.on, verdict.value, verdict.threshold) == (True, 140.0, 100.0)


def test_threshold_judges_the_last_reading_not_the_clock() -> None:
    # 10 min above in the readings; asking an hour later changes nothing (offline's job)
    det = ThresholdDetector("power_kw", 100.0, for_s=900, hysteresis=0)
    feed(det, [(T0 + i * MIN, {"power_kw": 120.0}) for i in range(11)])
    assert det.verdict(T0 + 60 * MIN).on is None


# -- offline -------------------------------------------------------------------------------------


def test_offline_with_a_declared_interval_and_a_floor() -> None:
    det = OfflineDetector(intervals=5, interval_s=1.0, min_after_s=10.0)
    det.feed(T0, {})
    assert det.limit_s() == 10.0  # 5 × 1 s is below the floor of 10 s
    assert det.verdict(T0 + 10 * S).on is False  # exactly the limit: not yet
    verdict = det.verdict(T0 + 10_040_000_000)
    assert (verdict.on, verdict.value, verdict.threshold) == (True, 10.0, 10.0)  # rounded to 0.1 s


def test_offline_estimates_the_interval_from_the_median_gap() -> None:
    det = OfflineDetector(intervals=3, default_interval_s=60.0)
    det.feed(T0, {})
    det.feed(T0 + 2 * S, {})
    assert det.limit_s() == 180.0  # one gap: still the default 60 s
    det.feed(T0 + 6 * S, {})  # gaps 2 s and 4 s: median 3 s
    assert det.limit_s() == 9.0
    det.feed(T0 + 5 * S, {})  # out of order: no gap
    det.feed(T0 + 6 * S, {})  # the same time again: no gap
    det.feed(T0 + 106 * S, {})  # gaps 2, 4, 100 s: median 4 s
    assert det.limit_s() == 12.0


def test_offline_age_is_never_negative() -> None:
    det = OfflineDetector(intervals=5, interval_s=60.0)
    det.feed(T0, {})
    verdict = det.verdict(T0 - 30 * S)  # the reading is ahead of the clock
    assert (verdict.on, verdict.value, verdict.threshold) == (False, 0.0, 300.0)


# -- register reset ------------------------------------------------------------------------------


def test_register_reset_within_tolerance_is_not_one() -> None:
    det = RegisterResetDetector(["energy_kwh"], tolerance=0.001, clear_after_s=3600)
    assert det.verdict(T0).on is None  # no register read yet
    det.feed(T0, {"energy_kwh": 500.0})
    det.feed(T0 + MIN, {"energy_kwh": 499.9995})  # rounding noise of 0.5 Wh
    assert det.verdict(T0 + MIN).on is False


def test_register_reset_on_any_register_and_clear_after() -> None:
    det = RegisterResetDetector(
        ["energy_kwh", "energy_export_kwh"], tolerance=0.001, clear_after_s=3600
    )
    det.feed(T0, {"energy_kwh": 800.0, "energy_export_kwh": 12.0})
    det.feed(T0 + MIN, {"energy_kwh": math.nan, "energy_export_kwh": 0.5})
    verdict = det.verdict(T0 + MIN)
    assert (verdict.on, verdict.value, verdict.threshold) == (True, 0.5, 12.0)
    assert det.verdict(T0 + MIN + 3599 * S).on is True
    assert det.verdict(T0 + MIN + 3600 * S).on is False  # clear_after_s after the decrease
    det.feed(T0 + 2 * MIN, {"energy_kwh": 801.0, "energy_export_kwh": 0.6})
    assert det.verdict(T0 + 2 * MIN).on is True  # still within the hour of the decrease


def test_register_reset_forget_after_a_manual_clear() -> None:
    det = RegisterResetDetector(["energy_kwh"], tolerance=0.001, clear_after_s=3600)
    det.feed(T0, {"energy_kwh": 800.0})
    det.feed(T0 + MIN, {"energy_kwh": 1.0})
    assert det.verdict(T0 + MIN).on is True
    det.forget()
    assert det.verdict(T0 + MIN).on is False
    det.feed(T0 + 2 * MIN, {"energy_kwh": 0.5})  # a new decrease raises it again
    assert det.verdict(T0 + 2 * MIN).value == 0.5


# -- register stuck ------------------------------------------------------------------------------


def test_register_stuck_at_exactly_for_s() -> None:
    det = RegisterStuckDetector("energy_kwh", "power_kw", for_s=900, min_power_kw=1.0)
    feed(det, [(T0 + i * MIN, {"energy_kwh": 50.0, "power_kw": 20.0}) for i in range(15)])
    verdict = det.verdict(T0 + 14 * MIN)
    assert (verdict.on, verdict.value, verdict.threshold) == (False, 14.0, 15.0)
    det.feed(T0 + 15 * MIN, {"energy_kwh": 50.0, "power_kw": 20.0})
    verdict = det.verdict(T0 + 15 * MIN)
    assert (verdict.on, verdict.value, verdict.threshold) == (True, 15.0, 15.0)


def test_register_stuck_counts_from_when_the_power_came_back() -> None:
    det = RegisterStuckDetector("energy_kwh", "power_kw", for_s=900, min_power_kw=1.0)
    feed(det, [(T0 + i * MIN, {"energy_kwh": 50.0, "power_kw": 20.0}) for i in range(10)])
    det.feed(T0 + 10 * MIN, {"energy_kwh": 50.0, "power_kw": 1.0})  # not above 1 kW
    assert det.verdict(T0 + 10 * MIN).on is False
    feed(det, [(T0 + i * MIN, {"energy_kwh": 50.0, "power_kw": 20.0}) for i in range(11, 26)])
    assert det.verdict(T0 + 25 * MIN).value == 14.0  # since minute 11, not minute 0
    det.feed(T0 + 26 * MIN, {"energy_kwh": 50.0})  # no power field: ignored
    det.feed(T0 + 26 * MIN + S, {"energy_kwh": 50.0, "power_kw": 20.0})
    assert det.verdict(T0 + 27 * MIN).on is True


def test_register_stuck_without_readings_has_no_verdict() -> None:
    det = RegisterStuckDetector("energy_kwh", "power_kw", for_s=900, min_power_kw=1.0)
    assert det.verdict(T0).on is None


# -- night base load -----------------------------------------------------------------------------


def night_detector() -> NightBaseLoadDetector:
    return NightBaseLoadDetector(
        "power_kw",
        tz=SHANGHAI,
        start_h=0,
        end_h=5,
        window_s=1800,
        factor=1.3,
        min_excess_kw=5.0,
    )


def test_night_base_load_limit_is_the_larger_of_factor_and_excess() -> None:
    det = night_detector()
    det.baseline = 10.0  # 1.3 × 10 = 13 kW < 10 + 5 = 15 kW
    night = T0 + 60 * MIN  # 01:00 in Wuhan
    feed(det, [(night - 30 * MIN + i * MIN, {"power_kw": 14.0}) for i in range(31)])
    verdict = det.verdict(night)
    assert (verdict.on, verdict.value, verdict.threshold) == (False, 14.0, 15.0)
    det2 = night_detector()
    det2.baseline = 100.0  # 130 kW > 105 kW
    feed(det2, [(night - 30 * MIN + i * MIN, {"power_kw": 131.0}) for i in range(31)])
    verdict = det2.verdict(night)
    assert (verdict.on, verdict.value, verdict.threshold) == (True, 131.0, 130.0)


def test_night_base_load_needs_a_baseline_and_half_a_window() -> None:
    det = night_detector()
    night = T0 + 60 * MIN
    feed(det, [(night - 14 * MIN + i * MIN, {"power_kw": 90.0}) for i in range(15)])
    assert det.verdict(night).on is None  # no baseline
    det.baseline = 10.0
    assert det.verdict(night).on is None  # 14 min of data: less than half of 30 min
    feed(det, [(night + i * MIN, {"power_kw": math.nan}) for i in range(1, 3)])  # ignored
    det.feed(night + 2 * MIN, {"power_kw": 90.0})
    verdict = det.verdict(night + 2 * MIN)
    assert (verdict.on, verdict.value) == (True, 90.0)  # 16 min of data


def test_night_base_load_hours_are_local_and_end_exclusive() -> None:
    det = night_detector()
    assert det.is_night(T0)  # 00:00 local, 16:00 UTC
    assert det.is_night(T0 + 5 * 60 * MIN - S)  # 04:59:59
    assert not det.is_night(T0 + 5 * 60 * MIN)  # 05:00
    assert not det.is_night(T0 - S)  # 23:59:59 the day before
    det.baseline = 10.0
    assert det.verdict(T0 + 5 * 60 * MIN).on is False  # outside the night: off, whatever the load


def test_night_windows_newest_first_in_local_time() -> None:
    windows = night_windows(date(2025, 11, 25), SHANGHAI, 1, 4, 3)
    # 2025-11-24 01:00-04:00 in Wuhan is 2025-11-23 17:00-20:00 UTC
    start = int(datetime(2025, 11, 23, 17, tzinfo=UTC).timestamp()) * S
    assert windows == [
        (start - back * 86_400 * S, start - back * 86_400 * S + 3 * 3600 * S) for back in range(3)
    ]


def test_night_windows_follow_the_wall_clock_across_dst() -> None:
    # Berlin springs forward at 02:00 on 2025-03-30: that night's 00:00-05:00 is 4 hours long
    ((lo, hi),) = night_windows(date(2025, 3, 31), BERLIN, 0, 5, 1)
    assert lo == int(datetime(2025, 3, 29, 23, tzinfo=UTC).timestamp()) * S
    assert hi == int(datetime(2025, 3, 30, 3, tzinfo=UTC).timestamp()) * S


def test_night_baseline_median_of_finite_nights() -> None:
    assert night_baseline([40.0, 44.0, 42.0, 46.0], min_nights=3) == 43.0
    assert night_baseline([40.0, math.nan, 42.0], min_nights=3) is None  # 2 finite nights
    assert night_baseline([], min_nights=1) is None
    assert night_baseline([7.5], min_nights=1) == 7.5


# -- park-wide verdicts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quarantined", "stored", "on", "share"),
    [
        (30, 100, True, 30 / 130),
        (19, 0, False, 1.0),  # all of it, but fewer than min_count
        (20, 380, False, 0.05),  # exactly the limit: not above
        (0, 0, False, 0.0),
    ],
)
def test_quarantine_rate_verdict(quarantined: int, stored: int, on: bool, share: float) -> None:
    verdict = quarantine_rate_verdict(quarantined, stored, min_count=20, max_share=0.05)
    assert (verdict.on, verdict.threshold) == (on, 0.05)
    assert verdict.value == pytest.approx(share, rel=1e-12)


@pytest.mark.parametrize(
    ("now", "before", "on", "threshold"),
    [
        (4096.0, 1024.0, True, 1024.0),
        (4096.0, 4096.0, False, 4096.0),  # not growing
        (512.0, 4096.0, False, 4096.0),  # draining
        (0.0, 1024.0, False, 1024.0),  # empty
        (0.0, None, False, 0.0),  # empty, nothing older
        (4096.0, None, None, 0.0),  # nothing older to compare with
    ],
)
def test_spool_growth_verdict(
    now: float, before: float | None, on: bool | None, threshold: float
) -> None:
    verdict = spool_growth_verdict(now, before)
    assert (verdict.on, verdict.value, verdict.threshold) == (on, now, threshold)


# -- the collector's /metrics --------------------------------------------------------------------

# what a collector served on /metrics (prometheus-client 0.26; histograms cut to three buckets)
COLLECTOR_METRICS = """\
# HELP smartpark_collector_messages_received_total MQTT messages received.
# TYPE smartpark_collector_messages_received_total counter
smartpark_collector_messages_received_total 12.0
# HELP smartpark_collector_messages_received_created MQTT messages received.
# TYPE smartpark_collector_messages_received_created gauge
smartpark_collector_messages_received_created 1.7964574686915987e+09
# HELP smartpark_collector_readings_quarantined_total Input kept aside, by reason.
# TYPE smartpark_collector_readings_quarantined_total counter
smartpark_collector_readings_quarantined_total{reason="unknown_device"} 3.0
smartpark_collector_readings_quarantined_total{reason="bad_json"} 5.0
# HELP smartpark_collector_readings_quarantined_created Input kept aside, by reason.
# TYPE smartpark_collector_readings_quarantined_created gauge
smartpark_collector_readings_quarantined_created{reason="unknown_device"} 1.7964574686918173e+09
smartpark_collector_readings_quarantined_created{reason="bad_json"} 1.7964574686918285e+09
# HELP smartpark_collector_spool_readings Readings waiting in the spool.
# TYPE smartpark_collector_spool_readings gauge
smartpark_collector_spool_readings 8.0
# HELP smartpark_collector_spool_bytes Bytes used by the spool.
# TYPE smartpark_collector_spool_bytes gauge
smartpark_collector_spool_bytes 4096.0
# HELP smartpark_collector_spool_oldest_age_seconds Age of the oldest spooled batch.
# TYPE smartpark_collector_spool_oldest_age_seconds gauge
smartpark_collector_spool_oldest_age_seconds 0.0
# HELP smartpark_collector_store_write_seconds Duration of one store write.
# TYPE smartpark_collector_store_write_seconds histogram
smartpark_collector_store_write_seconds_bucket{le="0.005"} 0.0
smartpark_collector_store_write_seconds_bucket{le="0.025"} 1.0
smartpark_collector_store_write_seconds_bucket{le="+Inf"} 1.0
smartpark_collector_store_write_seconds_count 1.0
smartpark_collector_store_write_seconds_sum 0.02
# HELP smartpark_collector_broker_connected 1 while connected to the broker.
# TYPE smartpark_collector_broker_connected gauge
smartpark_collector_broker_connected 1.0
"""


def test_spool_bytes_from_a_collectors_metrics_text() -> None:
    assert spool_bytes_from_text(COLLECTOR_METRICS) == 4096.0


def test_spool_bytes_is_the_exact_metric() -> None:
    # a longer name with the same start, labels and comments around it are not the spool
    text = (
        "# a comment\n"
        'smartpark_collector_spool_bytes_limit{disk="a"} 9e9\n'
        "smartpark_collector_spool_bytes 1.5e3\n"
    )
    assert spool_bytes_from_text(text) == 1500.0


@pytest.mark.parametrize(
    "text",
    [
        "",
        COLLECTOR_METRICS.replace("smartpark_collector_spool_bytes ", "other_spool_bytes "),
        "smartpark_collector_spool_bytes not-a-number\n",
        "<html>502 Bad Gateway</html>\n",
    ],
)
def test_spool_bytes_missing_or_unreadable_is_none(text: str) -> None:
    assert spool_bytes_from_text(text) is None


@pytest.fixture
def collector_metrics() -> Iterator[tuple[CollectorMetrics, str]]:
    """The collector's metrics served the way the collector serves them, on a free port."""
    metrics = CollectorMetrics()
    server, thread = start_http_server(0, addr="127.0.0.1", registry=metrics.registry)
    url = metrics_url_of("127.0.0.1", server.server_port)
    assert url is not None
    yield metrics, url
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_read_spool_bytes_from_a_served_collector_registry(
    collector_metrics: tuple[CollectorMetrics, str],
) -> None:
    metrics, url = collector_metrics
    metrics.messages_received.inc(7)
    metrics.readings_quarantined.labels("bad_json").inc()
    metrics.write_seconds.observe(0.02)
    assert read_spool_bytes(url) == 0.0
    metrics.spool_bytes.set(123_456)
    assert read_spool_bytes(url) == 123_456.0


def test_read_spool_bytes_when_nothing_answers() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert read_spool_bytes(f"http://127.0.0.1:{port}/metrics") is None


def test_metrics_url_of() -> None:
    assert metrics_url_of("10.0.0.5", 9105) == "http://10.0.0.5:9105/metrics"
    assert metrics_url_of("127.0.0.1", 0) is None
