"""The edge agent: polls meters on field buses (Modbus TCP/RTU, DL/T 645-2007) beside them in
the park and publishes smartpark's native JSON over MQTT, with store-and-forward.

Imports ``config`` only (DESIGN.md's table), so it runs on a gateway box without the store,
the services or the API. ``pymodbus`` and ``pyserial`` come with the ``edge`` extra.
"""

from __future__ import annotations

from edge.agent import EdgeAgent, reading_message, run_edge, status_message
from edge.configfile import EdgeConfig, EdgeSetup, load_edge_config
from edge.errors import (
    EdgeConfigError,
    EdgeError,
    FrameError,
    MeterError,
    MeterUnavailableError,
)
from edge.meter_maps import builtin_maps, load_map
from edge.outbox import Message, Outbox

__all__ = [
    "EdgeAgent",
    "EdgeConfig",
    "EdgeConfigError",
    "EdgeError",
    "EdgeSetup",
    "FrameError",
    "Message",
    "MeterError",
    "MeterUnavailableError",
    "Outbox",
    "builtin_maps",
    "load_edge_config",
    "load_map",
    "reading_message",
    "run_edge",
    "status_message",
]
