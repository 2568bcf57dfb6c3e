"""``smartpark instruments import FILE.csv`` and ``list``: all lines or none, problems per line."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.registry import load_registry
from config.settings import get_settings
from services.instruments import INSTRUMENT, list_instruments
from smartpark.cli import main
from store.embedded import EmbeddedStore
from tests.support.servers import InfluxService

EXAMPLE = Path(__file__).parents[2] / "examples" / "instruments.csv"
PARK = load_registry().parks["wuhan-demo"]
HEADER = (
    "id,kind,tenant,certificates,generation_from,generation_to,retired_from,retired_to,"
    "serial_first,serial_last,kwh_per_month,counterparty\n"
)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in ("SMARTPARK_STORE_URL", "SMARTPARK_REGISTRY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SMARTPARK_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def stored(data_dir: Path) -> list[object]:
    store = EmbeddedStore(data_dir / "store.sqlite3")
    try:
        return list(store.scan(PARK.id, measurement=INSTRUMENT, start_ns=0, end_ns=2**62))
    finally:
        store.close()


def test_the_example_file_imports_and_lists(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["instruments", "import", str(EXAMPLE)]) == 0  # the demo registry: one park
    out = capsys.readouterr().out
    # 500 + 1,200 GEC × 1,000 kWh + 80,000 kWh × 12 months + 15,000 kWh × 6 months
    assert out == "imported 4 instruments into park 'wuhan-demo' (2,750,000 kWh)\n"
    store = EmbeddedStore(data_dir / "store.sqlite3")
    try:
        records = {r.id: r for r in list_instruments(store, PARK)}
    finally:
        store.close()
    assert sorted(records) == [
        "direct-2025-roof",
        "gec-2025-chipcore",
        "gec-2025-park",
        "ppa-2025-lumina",
    ]
    gec = records["gec-2025-park"]
    assert (gec.certificates, gec.retired_from, gec.retired_to, gec.cancellation_id) == (
        500,
        "2025-03",
        "2025-03",
        "HX-2025-000123",
    )
    assert (gec.entered_by, records["gec-2025-chipcore"].tenant) == ("cli", "chipcore")
    assert records["ppa-2025-lumina"].counterparty == "湖北风电有限公司 Hubei Wind Power Co."
    # importing the same file again replaces each instrument: no conflict with itself
    assert main(["instruments", "import", str(EXAMPLE), "--park", "wuhan-demo"]) == 0
    capsys.readouterr()
    assert main(["instruments", "list", "--tenant", "lumina", "--year", "2025"]) == 0
    listed = capsys.readouterr()
    (line,) = listed.out.splitlines()
    assert line.startswith("ppa-2025-lumina\t绿电交易 green-power trading contract\tlumina\t")
    assert "80,000 kWh/month\t960,000 kWh" in line
    assert listed.err == "1 instrument, 960,000 kWh\n"


def test_a_bad_file_reports_every_line_and_imports_nothing(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["instruments", "import", str(EXAMPLE)]) == 0
    before = stored(data_dir)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER
        + "fine,gec,,10,2025-01,2025-01,2025-02,2025-02,S-1,S-10,,\n"  # line 2: fine alone
        + "zero,gec,,0,2025-01,2025-01,2025-02,2025-02,S-100,S-101,,\n"  # 3
        + "again,gec,,5,2025-01,2025-01,2025-02,2025-02,S-8,S-12,,\n"  # 4: overlaps line 2
        + "stored,gec,,2,2025-01,2025-01,2025-02,2025-02,GEC2025-000499,GEC2025-000500,,\n"  # 5
        + "\n"  # 6: blank
        + "ten,contract,ghost,,2025-01,2025-03,,,,,1 000,\n"  # 7
        + "old,gec,,1,2022-01,2022-01,2025-01,2025-01,T-1,T-1,,\n"  # 8
        + ",wind,,1,2025-01,2025-01,2025-01,2025-01,U-1,U-1,,\n",  # 9
        encoding="utf-8",
    )
    assert main(["instruments", "import", str(bad)]) == 1
    err = capsys.readouterr().err.splitlines()
    where = str(bad)
    assert err == [
        f"{where}:3: certificates: must be > 0, got 0",
        f"{where}:4: serial_first: serials S-8..S-12 overlap instrument 'fine' (S-1..S-10): a "
        "certificate is retired once",
        f"{where}:5: serial_first: serials GEC2025-000499..GEC2025-000500 overlap instrument "
        "'gec-2025-park' (GEC2025-000001..GEC2025-000500): a certificate is retired once",
        f"{where}:7: kwh_per_month: '1 000' is not a number (no thousands separators)",
        f"{where}:7: counterparty: a green-power trading contract needs its counterparty",
        f"{where}:7: tenant: park 'wuhan-demo' has no tenant 'ghost' (known: "
        + ", ".join(t.id for t in PARK.tenants)
        + ")",
        f"{where}:8: vintage: a GEC of vintage 2022 is valid 24 months from 2022-01, until "
        "2023-12; it cannot cover 2025-01",
        f"{where}:9: kind: 'wind' is not gec, contract or direct",
        f"{where}:9: id: is empty",
        f"9 problems on 6 lines of {where}: nothing imported",
    ]
    assert stored(data_dir) == before


def test_header_encoding_and_park_errors_are_clear(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("id,kind,generation_from,colour\n", encoding="utf-8")
    assert main(["instruments", "import", str(wrong)]) == 2
    err = capsys.readouterr().err
    assert f"{wrong}:1: the header must name columns of: id, kind," in err
    assert "unknown: colour; missing: generation_to" in err
    latin = tmp_path / "latin.csv"
    latin.write_bytes(
        HEADER.encode() + "a,contract,,,2025-01,2025-01,,,,,1,Gesellschaft für\n".encode("latin-1")
    )
    assert main(["instruments", "import", str(latin)]) == 2
    assert "cannot read it as UTF-8 text" in capsys.readouterr().err
    assert main(["instruments", "list", "--park", "atlantis"]) == 2
    assert "no park 'atlantis' in the registry" in capsys.readouterr().err
    # a BOM (Excel's UTF-8 CSV) is fine; an empty file imports nothing
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeff".encode() + HEADER.encode() + b"d,direct,,,2025-01,2025-02,,,,,500,\n")
    assert main(["instruments", "import", str(bom), "--dry-run"]) == 0
    assert "1 instrument checked, none stored (--dry-run)" in capsys.readouterr().out
    assert stored(data_dir) == []
    empty = tmp_path / "empty.csv"
    empty.write_text(HEADER, encoding="utf-8")
    assert main(["instruments", "import", str(empty)]) == 1
    assert "no instruments in the file; nothing imported" in capsys.readouterr().err


@pytest.mark.influxdb
def test_import_and_list_on_a_real_influxd(
    influxd: InfluxService,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    influxd.start()
    database = f"test_{uuid.uuid4().hex[:12]}"
    monkeypatch.delenv("SMARTPARK_REGISTRY", raising=False)
    monkeypatch.setenv("SMARTPARK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SMARTPARK_STORE_URL", influxd.store_url(database))
    get_settings.cache_clear()
    try:
        assert main(["instruments", "import", str(EXAMPLE)]) == 0
        assert main(["instruments", "import", str(EXAMPLE)]) == 0  # replaces, no conflict
        capsys.readouterr()
        assert main(["instruments", "list", "--year", "2025"]) == 0
        listed = capsys.readouterr()
    finally:
        get_settings.cache_clear()
        influxd.drop_database(database)
    ids = [line.split("\t")[0] for line in listed.out.splitlines()]
    assert ids == ["direct-2025-roof", "gec-2025-chipcore", "gec-2025-park", "ppa-2025-lumina"]
    assert listed.err == "4 instruments, 2,750,000 kWh\n"
