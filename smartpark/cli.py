"""The ``smartpark`` command: the composition root wiring config, store, ingest, api, simulators."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import signal
import socket
import sys
import threading
from collections.abc import Sized
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from config.errors import (
    BrokerError,
    ConfigError,
    Problem,
    RegistryError,
    SmartParkError,
    StoreUnavailableError,
)
from config.messages import Lang, message
from config.settings import Settings, get_settings
from smartpark import instruments_cli

if TYPE_CHECKING:
    from fastapi import FastAPI

    from config.accounting import ElectricityMethod
    from config.auth import KeyEntry
    from config.registry import Registry
    from services.follow import LedgerFollower

__all__ = ["main", "report_error"]

log = logging.getLogger("smartpark")


def _parse_time_ns(text: str) -> int:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {text!r}") from exc
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give a UTC offset, e.g. {text}+08:00")
    return int(parsed.timestamp()) * 10**9 + parsed.microsecond * 1000


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {text!r}") from None


def _build_parser() -> argparse.ArgumentParser:
    from smartpark import __version__

    parser = argparse.ArgumentParser(
        prog="smartpark",
        description="Energy and carbon monitoring for industrial parks.",
    )
    parser.add_argument("--version", action="version", version=f"smartpark {__version__}")
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    parser.add_argument(
        "--log-format",
        default="text",
        choices=["text", "json"],
        help="json: one object per line (time, level, logger, message) for log shippers",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="run a whole park on this machine (nothing to install)")
    demo.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    demo.add_argument("--host", default="127.0.0.1", help="HTTP address (default 127.0.0.1)")
    demo.add_argument(
        "--data-dir", type=Path, help="keep the demo's data here (default: temporary)"
    )
    demo.add_argument("--registry", type=Path, help="park registry (default: the demo park)")
    demo.add_argument("--interval", type=float, default=2.0, help="seconds between readings")

    collect = sub.add_parser("collect", help="MQTT → store collector (settings from SMARTPARK_*)")
    collect.add_argument("--share", metavar="GROUP", help="subscribe via $share/GROUP/...")

    follow = sub.add_parser(
        "follow",
        help="keep the stored ledger and roll-ups current, apart from the collectors "
        "(run them with SMARTPARK_LEDGER_FOLLOW=off); several split the parks by lease",
    )
    follow.add_argument("--holder", help="this follower's lease id (default: host:pid)")
    # the collector's child (smartpark/follow_child.py): stop when that process is gone
    follow.add_argument("--parent", type=int, help=argparse.SUPPRESS)

    _add_simulate_parser(sub)

    _add_serve_parser(sub)
    _add_store_parser(sub)
    ledger = sub.add_parser("ledger", help="the interval ledger (settings from SMARTPARK_*)")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=True, metavar="ACTION")
    rebuild = ledger_sub.add_parser("rebuild", help="recompute and store the ledger of a window")
    rebuild.add_argument("--park", required=True, help="park id")
    rebuild.add_argument("--start", required=True, type=_parse_time_ns, help="ISO-8601 with offset")
    rebuild.add_argument("--end", required=True, type=_parse_time_ns, help="ISO-8601 with offset")
    rebuild.add_argument("--interval", type=int, default=900, help="interval length [s] (900)")
    rebuild.add_argument("--device", action="append", help="only this device (repeatable)")

    _add_report_parser(sub)
    _add_keys_parser(sub)
    instruments_cli.add_parser(sub)
    _add_verify_parser(sub)

    edge = sub.add_parser("edge", help="poll meters (Modbus, DL/T 645) and publish to a broker")
    edge.add_argument("--config", required=True, type=Path, help="edge.yaml (see docs/edge.md)")

    _add_check_parser(sub)
    return parser


def _add_check_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = sub.add_parser(
        "check-config",
        help="validate the registry (with approved devices), payload mappings and alarm rules",
    )
    check.add_argument("path", nargs="?", type=Path, help="default: SMARTPARK_REGISTRY or the demo")
    check.add_argument(
        "--mappings", type=Path, help="mapping file or folder; default: SMARTPARK_MAPPINGS (if set)"
    )
    check.add_argument(
        "--alarm-rules", type=Path, help="default: SMARTPARK_ALARM_RULES or the shipped rules"
    )


def _add_keys_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = sub.add_parser("keys", help="API keys (the file named by SMARTPARK_API_KEYS)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    add = keys_sub.add_parser(
        "add",
        help="generate a key, append its hash to the key file, print the token once",
        description="Generate a token, append its SHA-256 with the principal to the key file "
        "(the token itself is stored nowhere) and print the token once.",
    )
    add.add_argument(
        "--role", required=True, choices=["city", "operator", "tenant", "gateway"], help="role"
    )
    add.add_argument("--park", help="park id (operator, tenant; optional for gateway)")
    add.add_argument("--tenant", help="tenant id of that park (tenant)")
    add.add_argument("--name", required=True, help="who holds the key (unique in the file)")
    add.add_argument(
        "--expires",
        type=_parse_day,
        metavar="YYYY-MM-DD",
        help="last day the key is valid (UTC); afterwards the API answers 401 key_expired",
    )
    add.add_argument(
        "--file", type=Path, help="key file (default: SMARTPARK_API_KEYS); created if missing"
    )
    file_help = "key file (default: SMARTPARK_API_KEYS)"
    listing = keys_sub.add_parser(
        "list", help="name, role, park, tenant, created and expiry of every key (never a hash)"
    )
    listing.add_argument("--file", type=Path, help=file_help)
    revoke = keys_sub.add_parser(
        "revoke",
        help="remove a key from the file: its token stops working (a running serve follows)",
    )
    revoke.add_argument("name", help="the key's name")
    revoke.add_argument("--file", type=Path, help=file_help)
    rotate = keys_sub.add_parser(
        "rotate",
        help="give a key a new token, printed once; the old token stops working",
    )
    rotate.add_argument("name", help="the key's name")
    rotate.add_argument("--file", type=Path, help=file_help)


def _add_verify_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    verify = sub.add_parser(
        "verify",
        help="compare the deployment's energy with a simulator truth file (exit 1 if it differs)",
        description="Compare the deployment's ledger (computed from the stored readings) and its "
        "stored ledger with a simulator truth file (smartpark simulate --truth), per device, "
        "carrier and local day; exit 1 when any differs by more than the tolerance "
        "(settings from SMARTPARK_*).",
    )
    verify.add_argument("--truth", required=True, type=Path, metavar="FILE", help="truth CSV")
    verify.add_argument("--park", required=True, help="park id")
    verify.add_argument("--start", required=True, type=_parse_time_ns, help="ISO-8601 with offset")
    verify.add_argument("--end", required=True, type=_parse_time_ns, help="ISO-8601 with offset")
    verify.add_argument(
        "--tolerance", type=float, default=0.001, help="relative difference accepted (0.001)"
    )
    verify.add_argument(
        "--ledger",
        default="both",
        choices=["both", "computed", "stored"],
        help="compare the ledger computed from the readings, the stored one, or both (default)",
    )
    verify.add_argument("--lang", default="en", choices=["zh", "en"], help="(default en)")
    verify.add_argument("--failures", action="store_true", help="list only the failed days")


def _add_report_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = sub.add_parser(
        "report",
        help="green-factory (--tenant) or park-evaluation report for a year",
        description="Compose a report from the stored telemetry (settings from SMARTPARK_*): a "
        "park evaluation (zero-carbon park, green park, microgrid) or, with --tenant, a "
        "green-factory energy and carbon report.",
    )
    report.add_argument("--park", required=True, help="park id")
    report.add_argument("--tenant", help="tenant id: a green-factory report of that tenant")
    report.add_argument("--year", required=True, type=int, help="calendar year, local time")
    report.add_argument(
        "--format", default="pdf", choices=["pdf", "html", "csv", "json"], help="(default pdf)"
    )
    report.add_argument("--lang", default="zh", choices=["zh", "en"], help="(default zh)")
    report.add_argument(
        "--out", type=Path, help="output file (default: <park>[-<tenant>]-<year>.<format>)"
    )
    report.add_argument(
        "--method",
        type=_method,
        metavar="{calorific_value,coal_equivalent}",
        help="override the electricity method of the year's accounting profile for this report: "
        "calorific_value (当量值) or coal_equivalent (等价值), GB/T 2589-2020; default: the "
        "profile's (the stored one of the year, else the park's in the registry)",
    )
    report.add_argument(
        "--declared",
        type=Path,
        metavar="YAML",
        help="values the telemetry cannot measure, e.g. {water_reuse: 0.82, waste_heat_use: 0.5}",
    )
    report.add_argument("--sector", help="sector of the green-factory scores (see docs/targets.md)")
    report.add_argument(
        "--table",
        choices=["205-1", "green-factory"],
        help="write an official table as .xlsx instead: NBS 205-1, or (with --tenant) the "
        "green-factory self-evaluation workbook (docs/tables.md)",
    )
    report.add_argument(
        "--ledger",
        default="computed",
        choices=["computed", "stored"],
        help="read the interval ledger computed from the registers (default) or the stored one",
    )


def _method(text: str) -> ElectricityMethod:
    """``--method``: a GB/T 2589-2020 method name; an old name is refused with the new one."""
    from services.accounting import AccountingProfileError, electricity_method

    try:
        return electricity_method(text)
    except AccountingProfileError as exc:
        message = str(exc).removeprefix("method: ").replace("method=", "--method ")
        raise argparse.ArgumentTypeError(message) from None


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = _build_parser().parse_args(argv)
    _configure_logging(args.log_level, args.log_format)
    try:
        return int(_COMMANDS[args.command](args) or 0)
    except SmartParkError as exc:
        return report_error(exc)
    except BaseExceptionGroup as group:  # from a task group: the domain errors inside it
        errors, rest = group.split(SmartParkError)
        if rest is not None or errors is None:
            raise
        return max(report_error(exc) for exc in _leaves(errors))
    except OSError as exc:  # a file or a port of the machine: expected, and the user's to fix
        return report_error(_os_error(exc))
    except KeyboardInterrupt:
        return 130


_OS_HINTS = {
    errno.ENOENT: "check the path (a folder on it may be missing)",
    errno.EACCES: "check the permissions of the file or folder",
    errno.EPERM: "check the permissions of the file or folder",
    errno.EISDIR: "give a file, not a folder",
    errno.EEXIST: "a file stands where a folder is needed on the path",
    errno.ENOTDIR: "a file stands where a folder is needed on the path",
    errno.ENOSPC: "free some disk space",
    errno.EROFS: "give a path on a writable disk",
    errno.EADDRINUSE: "another process holds the port: stop it or choose another port",
}


def _os_error(exc: OSError) -> ConfigError:
    """An :class:`OSError` the machine raised (a file, a folder, a port) as one line: what
    failed, on which path, and what to do."""
    what = exc.strerror or str(exc)
    where = f"{exc.filename}: " if exc.filename is not None else ""
    hint = _OS_HINTS.get(exc.errno or 0)
    return ConfigError(f"{where}{what}" + (f"; {hint}" if hint else ""))


CLI_LANG: Lang = "en"
"""The language of the command line's own lines (their Chinese is in the catalogue too)."""


def _say(key: str, **values: object) -> str:
    """A line of the command line from the catalogue (``config/messages/cli.yaml``)."""
    return message(key, CLI_LANG, **values)


def _count(what: str, things: int | Sized) -> str:
    """``1 device`` / ``2 devices``: a count of ``things`` (a number or a collection)."""
    n = things if isinstance(things, int) else len(things)
    return message(f"cli.n_{what}", CLI_LANG, n=n, count=n)


def report_error(exc: SmartParkError) -> int:
    """The one place the command line answers a domain error: ``error: <message>`` on stderr (the
    registry's problems one a line, each with file:line), then ``hint: <what to do>`` where there
    is one; no traceback. Returns the exit code: 2 for configuration, 1 for anything else."""
    problems = getattr(exc, "problems", None)
    if isinstance(problems, list) and problems and all(isinstance(p, Problem) for p in problems):
        key = "cli.registry_problems" if isinstance(exc, RegistryError) else "cli.config_problems"
        print(_say(key, problems=_count("problems", problems)), file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
    else:
        text = " ".join(str(exc).split()) or type(exc).__name__
        print(f"error: {text}", file=sys.stderr)
    hint = _hint(exc)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)
    return 2 if isinstance(exc, ConfigError) else 1


def _hint(exc: SmartParkError) -> str | None:
    """What to do about ``exc``, when there is more to say than its message."""
    # imported here: a hint must not make every command load the report renderer
    from reports.render import FONT_PACKAGE, MissingCJKFontError

    if isinstance(exc, MissingCJKFontError):
        return (
            f"install a font with Chinese glyphs (Debian/Ubuntu: apt-get install {FONT_PACKAGE}),"
            " or ask for --lang en, html or json"
        )
    if isinstance(exc, StoreUnavailableError):
        return "is the store running? SMARTPARK_STORE_URL names it (empty: the embedded store)"
    if isinstance(exc, BrokerError):
        return "is the MQTT broker running? SMARTPARK_MQTT_URL names it"
    if isinstance(exc, RegistryError):
        if any(p.line == 0 for p in exc.problems):  # the file or folder itself, not a line of it
            return (
                "SMARTPARK_REGISTRY (or the command's --registry / path) must name a registry "
                "file or a folder of *.yaml files; unset, the demo park is used"
            )
        return "fix each line above; `smartpark check-config` checks the registry again"
    return None


def _leaves(group: BaseExceptionGroup[SmartParkError]) -> list[SmartParkError]:
    found: list[SmartParkError] = []
    for exc in group.exceptions:
        found.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return found


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        import orjson

        entry = {
            "time": datetime.fromtimestamp(record.created)
            .astimezone()
            .isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler writing to whatever ``sys.stderr`` is at each record, as logging's own
    last-resort handler does: a command run inside another program (a test's captured stream,
    closed when the test ends) leaves no handler on a closed stream for threads that log later."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:
        return sys.stderr


def _configure_logging(level: str, fmt: str) -> None:
    handler = _StderrHandler()
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # httpx logs every request at INFO: one line per store write is noise, not a state change
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # WeasyPrint narrates every layout step at INFO; its warnings (a missing glyph) still show
    for name in ("weasyprint", "fontTools"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _demo(args: argparse.Namespace) -> int:
    from smartpark.demo import run_demo

    asyncio.run(
        run_demo(
            host=args.host,
            port=args.port,
            data_dir=args.data_dir,
            registry_path=args.registry,
            interval_s=args.interval,
        )
    )
    return 0


def _collect(args: argparse.Namespace) -> int:
    from config.registry import load_registry
    from ingest.collector import Collector
    from store import open_stores

    settings = get_settings()
    registry = load_registry(settings.registry)
    store = open_stores(settings, registry)
    collector = Collector(settings=settings, registry=registry, store=store, share_group=args.share)
    follower = _ledger_follower(settings, registry)  # SMARTPARK_LEDGER_FOLLOW=thread
    child = None
    if follower is not None:
        from services.follow import FollowerMetrics

        collector.metrics.registry.register(FollowerMetrics(follower))
    elif settings.ledger_follow == "process":
        from smartpark.follow_child import ChildMetrics, FollowerChild

        child = FollowerChild(holder=settings.client_id, metrics=settings.metrics_port != 0)
        collector.metrics.registry.register(ChildMetrics(child))
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    collector.start()
    if follower is not None:
        follower.start(every_s=settings.ledger_poll_s)
    if child is not None:
        child.start()
    log.info("collecting into %r; SIGINT/SIGTERM flushes and stops", store)
    while not stopped.wait(1.0):
        if child is not None:
            child.check()  # started again when it died
    log.info("stopping: writing what was received")
    if child is not None:
        child.terminate()  # finishes its pass while the collector flushes
    collector.stop()
    if follower is not None:
        follower.stop()
        follower.store.close()
    if child is not None:
        child.stop()
    store.close()
    s = collector.stats
    log.info(
        "stopped: %d messages, %d readings stored, %d quarantined",
        s.messages_received,
        s.readings_stored,
        s.readings_quarantined,
    )
    return 0


def _ledger_follower(
    settings: Settings, registry: Registry, *, holder: str | None = None
) -> LedgerFollower | None:
    """The ledger follower of ``smartpark follow`` (``holder`` given) or the thread of
    ``smartpark collect`` (``SMARTPARK_LEDGER_FOLLOW=thread``, else None), on its own store
    connection. Followers split the parks by lease, as ``holder`` (default: the collector's
    client id)."""
    from services.follow import LedgerFollower
    from store import open_stores

    if settings.ledger_follow != "thread" and holder is None:
        return None
    return LedgerFollower(
        open_stores(settings, registry),
        registry,
        interval_s=settings.ledger_interval_s,
        cursor_path=settings.ledger_cursor_path if holder is None else None,
        holder=holder or settings.client_id,
        # a pass renews its leases: several passes fit in one ttl
        lease_ttl_s=max(60.0, 4 * settings.ledger_poll_s),
        keep_bytes=settings.ledger_keep_mib * 1024 * 1024,
    )


def _follow(args: argparse.Namespace) -> int:
    import os

    from config.registry import load_registry

    settings = get_settings()
    registry = load_registry(settings.registry)
    holder = args.holder or f"{socket.gethostname()}:{os.getpid()}"
    follower = _ledger_follower(settings, registry, holder=holder)
    assert follower is not None
    metrics = None
    if settings.follow_metrics_port:
        from prometheus_client import CollectorRegistry

        from ingest.metrics import serve_metrics
        from services.follow import FollowerMetrics

        exported = CollectorRegistry()
        exported.register(FollowerMetrics(follower))
        metrics = serve_metrics(
            exported,
            settings.metrics_host,
            settings.follow_metrics_port,
            setting="SMARTPARK_FOLLOW_METRICS_PORT",
        )
        log.info(
            "follower metrics on http://%s:%d/metrics",
            settings.metrics_host,
            settings.follow_metrics_port,
        )
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    follower.start(every_s=settings.ledger_poll_s)
    log.info(
        "following the ledger of %s in %r as %s, a pass every %.0f s; SIGINT/SIGTERM stops",
        _count("parks", len(registry.parks)),
        follower.store,
        holder,
        settings.ledger_poll_s,
    )
    while not stopped.wait(1.0):
        if args.parent is not None and os.getppid() != args.parent:
            log.warning("the collector (process %d) is gone; stopping", args.parent)
            break
    follower.stop()
    follower.store.close()
    if metrics is not None:
        metrics.shutdown()
        metrics.server_close()
    log.info(
        "stopped: %d intervals and %d roll-up days written",
        follower.intervals_written,
        follower.rollup_days_written,
    )
    return 0


def _add_simulate_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = sub.add_parser("simulate", help="publish a simulated park to an MQTT broker")
    sim.add_argument("--park", help="park id (default: the registry's first park)")
    sim.add_argument("--mqtt-url", help="broker (default: SMARTPARK_MQTT_URL)")
    sim.add_argument("--interval", type=float, default=5.0, help="simulated seconds per reading")
    sim.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="simulated seconds per real second; 0 = as fast as possible",
    )
    sim.add_argument("--start", type=_parse_time_ns, help="simulated start, ISO-8601 with offset")
    sim.add_argument("--ticks", type=int, help="stop after this many readings per device")
    sim.add_argument(
        "--end",
        type=_parse_time_ns,
        help="backfill: stop at this simulated time (exclusive); with --start and --speed 0",
    )
    sim.add_argument("--seed", type=int, default=0, help="same seed, same bytes")
    sim.add_argument("--registry", type=Path, help="park registry (default: SMARTPARK_REGISTRY)")
    sim.add_argument(
        "--batch",
        type=int,
        default=1,
        metavar="N",
        help='send each device\'s readings N at a time as {"readings": [...]} (gateway upload)',
    )
    sim.add_argument("--faults", type=Path, metavar="PROFILE", help="fault profile (YAML)")
    sim.add_argument("--truth", type=Path, metavar="FILE", help="write the ground truth (CSV)")
    sim.add_argument(
        "--retrofit",
        action="append",
        default=[],
        metavar="TENANT:YYYY-MM-DD:[hvac=]FACTOR",
        help="scale a tenant's load by FACTOR from that local date, or with hvac= only its "
        "temperature-dependent (HVAC) part (repeatable); the truth file gets the kWh saved per "
        "day and meter",
    )
    sim.add_argument(
        "--fresh-registers",
        action="store_true",
        help="start registers from seeded values instead of where the store "
        "(SMARTPARK_STORE_URL) says each meter stands at the start",
    )
    sim.add_argument(
        "--generate-park",
        type=int,
        metavar="N",
        help="write a registry YAML for a synthetic park of N devices (to --output) and exit",
    )
    sim.add_argument("--output", type=Path, help="file for --generate-park (default: stdout)")
    _add_city_arguments(sim)


def _add_city_arguments(sim: argparse.ArgumentParser) -> None:
    sim.add_argument(
        "--generate-city",
        type=int,
        metavar="N",
        help="write a registry folder of N parks of 10 to 2,000 devices (to --out) and exit",
    )
    sim.add_argument("--out", type=Path, default=Path("city"), help="folder for --generate-city")


def _generate(args: argparse.Namespace) -> int:
    """``simulate --generate-city`` / ``--generate-park``: write a registry and exit."""
    if args.generate_city is not None:
        from simulators.city import write_city

        try:
            files = write_city(args.out, args.generate_city, seed=args.seed)
        except (ValueError, FileExistsError) as exc:
            raise ConfigError(str(exc)) from None
        log.info(
            "wrote a city of %d parks to %s (SMARTPARK_REGISTRY=%s)", len(files), args.out, args.out
        )
        return 0
    if args.generate_park is not None:
        import yaml

        from simulators.generate import generate_park

        text = yaml.safe_dump(generate_park(args.generate_park), sort_keys=False, width=120)
        if args.output is None:
            sys.stdout.write(text)
        else:
            args.output.write_text(text, encoding="utf-8")
            log.info("wrote a park of %d devices to %s", args.generate_park, args.output)
        return 0
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from config.registry import load_registry
    from simulators.faults import load_fault_profile
    from simulators.publisher import Progress, simulate

    if args.generate_city is not None or args.generate_park is not None:
        return _generate(args)
    if args.end is not None and args.start is None:
        raise ConfigError("--end needs --start")
    if args.batch < 1:
        raise ConfigError("--batch must be at least 1")
    settings = get_settings()
    registry = load_registry(args.registry or settings.registry)
    park_id = args.park or next(iter(registry.parks))
    park = registry.park(park_id)
    if park is None:
        raise ConfigError(
            f"no park {park_id!r} in the registry; known: {', '.join(registry.parks)}"
        )
    faults = load_fault_profile(args.faults) if args.faults is not None else None
    progress = Progress(args.start, args.end) if args.end is not None else None
    registers = None
    if not args.fresh_registers:
        from smartpark.registers import stored_registers

        registers = stored_registers(settings, park, start_ns=args.start, interval_s=args.interval)
    model = None
    if args.retrofit:
        from simulators.park import ParkModel
        from simulators.retrofit import RetrofitError, parse_retrofit

        try:
            retrofits = [parse_retrofit(text) for text in args.retrofit]
            model = ParkModel(park, seed=args.seed, registers=registers, retrofits=retrofits)
        except RetrofitError as exc:
            text = message(exc.key, CLI_LANG, *exc.params) if exc.key else str(exc)
            raise ConfigError(text) from None

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        result = await simulate(
            park,
            args.mqtt_url or settings.mqtt_url,
            interval_s=args.interval,
            speed=args.speed,
            start_ns=args.start,
            end_ns=args.end,
            ticks=args.ticks,
            seed=args.seed,
            topic_template=settings.topic_template,
            stop=stop,
            faults=faults,
            truth_path=args.truth,
            batch=args.batch,
            progress=progress,
            registers=registers,
            model=model,
        )
        log.info(
            "published %d readings in %d messages over %d ticks; %d faults injected",
            result.readings,
            result.messages,
            result.ticks,
            result.faults,
        )

    asyncio.run(run())
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.main import create_app
    from config.auth import KeyFile
    from config.registry import load_registry
    from store import open_stores

    settings = get_settings()
    registry = load_registry(settings.registry)
    if settings.auth == "off":
        log.warning(
            "SMARTPARK_AUTH=off: the API asks for no key and every request acts as 'city' "
            "(all parks); never expose it beyond a trusted network"
        )
        keys = None
    elif settings.api_keys is None:
        raise ConfigError(
            "no API keys: set SMARTPARK_API_KEYS to a key file (make one with `smartpark keys "
            "add --role operator --park P --name N --file F`), or set SMARTPARK_AUTH=off to "
            "serve without authentication"
        )
    else:
        # followed while serving: keys added, revoked or rotated apply without a restart
        keys = KeyFile(settings.api_keys, registry)
        log.info("API keys: %d from %s (re-read when it changes)", len(keys), settings.api_keys)
    _check_listen(args.host, args.port)
    if args.workers < 1:
        raise ConfigError(f"--workers must be 1 or more, not {args.workers}")
    if args.workers > 1:
        # each worker builds its app (and opens the store) itself: serve_replica below
        uvicorn.run(
            "smartpark.cli:serve_replica",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            timeout_graceful_shutdown=3,
        )
        return 0
    # opened here, not in the app's start-up, so a store that cannot be opened (an embedded
    # store's folder) is one line from report_error, not uvicorn's traceback
    store = open_stores(settings, registry)
    try:
        app = create_app(settings=settings, store=store, registry=registry, auth=keys)
        # live streams never end by themselves: give them a few seconds at shutdown, then close
        uvicorn.run(app, host=args.host, port=args.port, timeout_graceful_shutdown=3)
    finally:
        store.close()
    return 0


def serve_replica() -> FastAPI:
    """The app of one worker of ``serve --workers N``, built from settings in the worker's own
    process: the registry, the API keys (followed), the store (opened at start-up)."""
    from api.main import create_app
    from config.auth import KeyFile
    from config.registry import load_registry

    settings = get_settings()
    registry = load_registry(settings.registry)
    keys = None if settings.auth == "off" else KeyFile(_key_path(settings), registry)
    return create_app(settings=settings, registry=registry, auth=keys)


def _key_path(settings: Settings) -> Path:
    if settings.api_keys is None:
        raise ConfigError("no API keys: set SMARTPARK_API_KEYS, or SMARTPARK_AUTH=off")
    return settings.api_keys


def _add_serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="API and dashboard (settings from SMARTPARK_*)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="N replica processes on this port (the kernel spreads connections; one of them, "
        "holding the store lease, runs the alarm engine; docs/deploy-city.md)",
    )


def _add_store_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    store_cmd = sub.add_parser("store", help="the store's housekeeping (settings: SMARTPARK_*)")
    store_sub = store_cmd.add_subparsers(dest="store_command", required=True, metavar="ACTION")
    retention = store_sub.add_parser(
        "retention",
        help="show how long the store keeps raw readings, the ledger and the roll-ups; "
        "--apply sets SMARTPARK_RETENTION_*_DAYS (deletes older data)",
    )
    retention.add_argument("--apply", action="store_true", help="set the policies (InfluxDB)")


def _store(args: argparse.Namespace) -> int:
    """``smartpark store retention [--apply]``."""
    from store import InfluxStore, open_store
    from store.influx import Retention

    settings = get_settings()
    wanted = Retention(
        settings.retention_raw_days, settings.retention_ledger_days, settings.retention_rollup_days
    )
    store = open_store(settings.store_url, data_dir=settings.data_dir)
    try:
        if not isinstance(store, InfluxStore):
            print(
                f"{store!r} keeps everything: retention applies to InfluxDB stores "
                "(docs/limits.md, Retention)"
            )
            return 0
        print(f"{store!r}")
        for what, policy in store.retention().items():
            print(f"  {what:8} {policy}")
        if not args.apply:
            print(
                f"settings: raw {wanted.raw_days} d, ledger {wanted.ledger_days} d, "
                f"roll-ups {wanted.rollup_days} d (0: forever); --apply sets them"
            )
            return 0
        for statement in store.apply_retention(wanted):
            print(f"applied: {statement}")
    finally:
        store.close()
    return 0


def _check_listen(host: str, port: int) -> None:
    """Bind ``host``:``port`` once (as uvicorn will, with SO_REUSEADDR) so a port in use is a
    :class:`ConfigError` naming the option to change, not uvicorn's own exit."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ConfigError(f"--host {host!r} cannot be used: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} on {host} is already in use: stop what holds it, or give another "
                "with --port"
            ) from None
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}): give another --port or --host"
        ) from None
    finally:
        sock.close()


def _keys(args: argparse.Namespace) -> int:
    from config.auth import PrincipalRole, add_key, list_keys, revoke_key, rotate_key
    from config.registry import load_registry

    settings = get_settings()
    path = args.file or settings.api_keys
    if path is None:
        raise ConfigError("no key file: give --file or set SMARTPARK_API_KEYS")
    registry = load_registry(settings.registry)
    if args.keys_command == "list":
        _print_keys(list_keys(path, registry) if path.exists() else [], path)
        return 0
    if args.keys_command == "revoke":
        entry = revoke_key(path, registry, args.name)
        print(f"revoked {entry.role} key {entry.name!r} in {path}; its token no longer works")
        return 0
    if args.keys_command == "rotate":
        token = rotate_key(path, registry, args.name)
        print(
            f"rotated key {args.name!r} in {path}; the old token no longer works", file=sys.stderr
        )
    else:
        token = add_key(
            path,
            registry,
            name=args.name,
            role=PrincipalRole(args.role),
            park=args.park,
            tenant=args.tenant,
            expires=args.expires,
        )
        until = f", valid through {args.expires} (UTC)" if args.expires else ""
        print(f"added {args.role} key {args.name!r} to {path}{until}", file=sys.stderr)
    print("token (shown only now; send it as 'Authorization: Bearer <token>'):", file=sys.stderr)
    print(token, flush=True)
    return 0


def _print_keys(entries: list[KeyEntry], path: Path) -> None:
    """``keys list``: one row per key, columns aligned; never the hash."""
    if not entries:
        print(f"no keys in {path}")
        return
    header = ("NAME", "ROLE", "PARK", "TENANT", "CREATED", "EXPIRES")
    rows = [
        (
            e.name,
            str(e.role),
            e.park or "-",
            e.tenant or "-",
            str(e.created or "-"),
            f"{e.expires} (expired)" if e.expired() else str(e.expires or "never"),
        )
        for e in entries
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _check_config(args: argparse.Namespace) -> int:
    """Everything a deployment reads at start, checked as the processes check it: the registry
    with the devices approved and retired at run time, its parks' stores, the payload mappings
    against it, and the alarm rules. The first file with problems raises (every problem of it,
    with file and line)."""
    from config.alarm_rules import load_rules
    from config.registry import approved_dir, load_registry
    from ingest.mapping import load_mappings
    from store import park_routes

    settings = get_settings()
    approved = approved_dir(settings.data_dir)
    registry = load_registry(args.path or settings.registry, approved=approved)
    park_routes(registry, list(settings.named_stores()))  # a park's store: is it defined?
    for park_id, park in registry.parks.items():
        store = park.park.store
        retired = sum(1 for d in park.devices if d.retired is not None)
        print(
            _say(
                "cli.park_ok",
                source=registry.sources[park_id],
                park=repr(park_id),
                tenants=_count("tenants", park.tenants),
                buildings=_count("buildings", park.buildings),
                devices=_count("devices", park.devices),
            )
            + (_say("cli.park_retired", n=retired) if retired else "")
            + ("" if store == "default" else _say("cli.park_store", store=repr(store)))
        )
    if approved.is_dir():
        print(_say("cli.approved_ok", path=approved))
    mappings = args.mappings or settings.mappings
    if mappings is not None:
        found = load_mappings(mappings, registry=registry)
        sparkplug = ", Sparkplug B" if found.sparkplug is not None else ""
        print(_say("cli.mappings_ok", path=mappings, n=len(found.mappings)) + sparkplug)
    rules_path = args.alarm_rules or settings.alarm_rules
    rules = load_rules(rules_path)
    where = rules_path or _say("cli.shipped_rules")
    print(_say("cli.rules_ok", path=where, n=len(rules.rules)))
    return 0


def _ledger(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from config.registry import load_registry
    from services.ledger import rebuild_ledger
    from services.rollup import write_day_rollups
    from smartpark.progress import ProgressBar
    from store import LEDGER_DAY, open_stores

    settings = get_settings()
    registry = load_registry(settings.registry)
    park = registry.park(args.park)
    if park is None:
        raise ConfigError(
            f"no park {args.park!r} in the registry; known: {', '.join(registry.parks)}"
        )
    if args.end <= args.start:
        raise ConfigError("--end must be after --start")
    if args.interval <= 0:
        raise ConfigError("--interval must be a positive number of seconds")
    store = open_stores(settings, registry)
    try:
        result = rebuild_ledger(
            store,
            park,
            start_ns=args.start,
            end_ns=args.end,
            interval_s=args.interval,
            devices=args.device,
            progress=ProgressBar(len(park.devices), "ledger rebuild"),
        )
        print(
            _say(
                "cli.ledger_written",
                park=repr(park.id),
                devices=_count("devices", result.devices),
                registers=_count("registers", result.registers),
                intervals=_count("intervals", result.intervals),
                missing=result.missing,
            ),
            flush=True,
        )
        # the daily roll-up of the local days the rebuilt window touches, from the new ledger
        rolled = write_day_rollups(
            store,
            park,
            start_ns=args.start,
            end_ns=args.end,
            devices=args.device,
            interval_s=args.interval,
            progress=ProgressBar(len(park.devices), "day roll-up"),
        )
    finally:
        store.close()
    zone = ZoneInfo(park.park.timezone)
    first = datetime.fromtimestamp(rolled.first_ns // 10**9, zone).date()
    last = datetime.fromtimestamp((rolled.last_ns - 1) // 10**9, zone).date()
    print(
        _say(
            "cli.day_rollup",
            measurement=LEDGER_DAY,
            days=_count("register_days", rolled.days),
            devices=_count("devices", rolled.devices),
            first=first,
            last=last,
            tz=park.park.timezone,
        )
    )
    return 0


def _verify(args: argparse.Namespace) -> int:
    from config.registry import load_registry
    from services.verify import format_result, read_truth, verify
    from store import open_stores

    settings = get_settings()
    registry = load_registry(settings.registry)
    park = registry.park(args.park)
    if park is None:
        raise ConfigError(
            f"no park {args.park!r} in the registry; known: {', '.join(registry.parks)}"
        )
    truth = read_truth(args.truth, park)
    store = open_stores(settings, registry)
    try:
        result = verify(
            store,
            park,
            truth,
            start_ns=args.start,
            end_ns=args.end,
            tolerance=args.tolerance,
            interval_s=settings.ledger_interval_s,
            ledger=args.ledger,
        )
    finally:
        store.close()
    for line in format_result(result, truth, lang=args.lang, only_failures=args.failures):
        print(line)
    return 0 if result.ok else 1


def _report(args: argparse.Namespace) -> int:
    import yaml

    from config.registry import load_registry
    from reports.build import ReportRequest, build_report
    from reports.render import render
    from services.accounting import profile_for, with_method
    from services.ledger import device_ledger, stored_ledger
    from smartpark import __version__
    from smartpark.progress import ProgressBar
    from store import open_stores

    settings = get_settings()
    registry = load_registry(settings.registry)
    park = registry.park(args.park)
    if park is None:
        raise ConfigError(
            f"no park {args.park!r} in the registry; known: {', '.join(registry.parks)}"
        )
    if args.tenant and args.tenant not in {t.id for t in park.tenants}:
        raise ConfigError(
            f"park {park.id!r} has no tenant {args.tenant!r}; "
            f"known: {', '.join(t.id for t in park.tenants)}"
        )
    declared: dict[str, float] = {}
    if args.declared is not None:
        try:
            loaded = yaml.safe_load(args.declared.read_text(encoding="utf-8")) or {}
            declared = {str(k): float(v) for k, v in dict(loaded).items()}
        except (OSError, yaml.YAMLError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"{args.declared}: declared values must be a YAML mapping of name: number ({exc})"
            ) from None
    suffix = f"{args.table}.xlsx" if args.table else args.format
    out = args.out or Path(
        f"{park.id}{'-' + args.tenant if args.tenant else ''}-{args.year}.{suffix}"
    )
    store = open_stores(settings, registry)
    try:
        profile = with_method(profile_for(store, park, args.year), args.method)
        print(f"accounting profile: {profile.name} ({profile.electricity_method})", file=sys.stderr)
        doc = build_report(
            store,
            park,
            ReportRequest(
                year=args.year,
                tenant=args.tenant,
                profile=profile,
                declared=declared,
                sector=args.sector,
            ),
            ledger=stored_ledger if args.ledger == "stored" else device_ledger,
            progress=ProgressBar(1, "report"),
            software=f"smartpark {__version__}",
        )
    finally:
        store.close()
    if args.table:
        from reports.xlsx import table_xlsx

        body = table_xlsx(doc, args.table)
    else:
        body = render(doc, args.format, args.lang)
    out.write_bytes(body)
    subject = doc.tenant_id or doc.park_id
    print(f"wrote {out} ({len(body):,} bytes): {doc.kind} of {subject}, {doc.year}")
    return 0


def _edge(args: argparse.Namespace) -> int:
    from edge import EdgeConfigError, run_edge

    path: Path = args.config
    try:
        return run_edge(path)
    except EdgeConfigError as exc:  # every problem on its own line, with file:line
        print(
            _say("cli.file_problems", path=path, problems=_count("problems", exc.problems)),
            file=sys.stderr,
        )
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2


_COMMANDS = {
    "demo": _demo,
    "collect": _collect,
    "follow": _follow,
    "simulate": _simulate,
    "serve": _serve,
    "store": _store,
    "keys": _keys,
    "check-config": _check_config,
    "ledger": _ledger,
    "report": _report,
    "instruments": instruments_cli.run,
    "verify": _verify,
    "edge": _edge,
}
