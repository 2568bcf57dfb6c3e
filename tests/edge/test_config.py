"""edge.yaml: a good file loads with its maps; every problem is reported at its file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.configfile import ModbusRtuBus, load_edge_config
from edge.errors import EdgeConfigError
from edge.meter_maps import Dlt645Map, ModbusMap

GOOD = """\
park: wuhan-demo
buffer: buffer.sqlite3
buses:
  - id: rs485-1
    kind: modbus_rtu
    port: /dev/ttyUSB0
    parity: E
    interval_s: 5
    meters:
      - {device: tower-a-f01, unit: 1, map: chint-dtsu666, ct_ratio: 40}
      - {device: tower-a-f02, unit: 2, map: acrel-adw300}
  - id: dlt-line
    kind: dlt645_tcp
    host: 10.0.0.7
    port: 8899
    meters:
      - {device: tower-a-f03, address: "000012345678", map: dlt645-2007}
"""


def test_a_good_file(tmp_path: Path):
    path = tmp_path / "edge.yaml"
    path.write_text(GOOD, encoding="utf-8")
    setup = load_edge_config(path)
    rtu = setup.config.buses[0]
    assert isinstance(rtu, ModbusRtuBus)
    assert (rtu.baudrate, rtu.parity, rtu.interval_s, rtu.retries) == (9600, "E", 5.0, 2)
    assert rtu.meters[0].ct_ratio == 40.0
    assert isinstance(setup.maps["tower-a-f01"], ModbusMap)
    assert isinstance(setup.maps["tower-a-f03"], Dlt645Map)
    assert setup.config.broker.topic_template == "parks/{park}/devices/{device}/telemetry"


def test_every_problem_at_its_line(tmp_path: Path):
    text = (
        GOOD.replace("unit: 2, map: acrel-adw300", "unit: 300, map: acrel-adw300")  # line 11
        .replace("map: dlt645-2007}", "map: chint-dtsu666}")  # line 17: a Modbus map on DL/T 645
        .replace("device: tower-a-f02", "device: tower-a-f01")  # line 11: duplicate
    )
    path = tmp_path / "edge.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(EdgeConfigError) as caught:
        load_edge_config(path)
    assert [(p.line, p.message) for p in caught.value.problems] == [
        (11, "buses.0.meters.1.unit: Input should be less than or equal to 247"),
    ]
    path.write_text(text.replace("unit: 300", "unit: 2"), encoding="utf-8")
    with pytest.raises(EdgeConfigError) as caught:
        load_edge_config(path)
    assert [(p.line, p.message) for p in caught.value.problems] == [
        (11, "device 'tower-a-f01' given twice"),
        (17, "map 'chint-dtsu666' is a modbus map, the bus is dlt645_tcp"),
    ]


def test_an_unknown_map_names_the_shipped_ones(tmp_path: Path):
    path = tmp_path / "edge.yaml"
    path.write_text(GOOD.replace("map: acrel-adw300", "map: acrel-adl999"), encoding="utf-8")
    with pytest.raises(EdgeConfigError) as caught:
        load_edge_config(path)
    (problem,) = caught.value.problems
    assert problem.line == 11
    assert "'acrel-adl999' is neither a shipped map" in problem.message
    assert "chint-dtsu666" in problem.message


def test_a_bad_broker_url(tmp_path: Path):
    path = tmp_path / "edge.yaml"
    path.write_text(GOOD + "broker: {url: 'http://x'}\n", encoding="utf-8")
    with pytest.raises(EdgeConfigError) as caught:
        load_edge_config(path)
    (problem,) = caught.value.problems
    assert problem.line == 18
    assert "mqtt://" in problem.message


def test_the_command_prints_every_problem_and_exits_2(tmp_path: Path, capsys):
    from smartpark.cli import main

    path = tmp_path / "edge.yaml"
    path.write_text(GOOD.replace("unit: 1,", "unit: 0,").replace("port: 8899", "port: 0"))
    assert main(["edge", "--config", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"error: {path} has 2 problems:",
        f"  {path}:10: buses.0.meters.0.unit: Input should be greater than or equal to 1",
        f"  {path}:15: buses.1.port: Input should be greater than or equal to 1",
    ]
