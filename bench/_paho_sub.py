"""The bare paho 2.x receive ceiling: a subscriber whose ``on_message`` only counts.

Run as its own process: ``python -m bench._paho_sub --port P --n N``. Prints ``{"ready": true}``
once the broker has acknowledged the subscription, then, when ``--n`` messages arrived, nothing
came for ``--idle-s`` or ``--deadline-s`` passed, one JSON line with the count, the wall-clock
times of the first and the last message, and its own CPU seconds. paho acknowledges each QoS 1
message itself, on receipt (no ``manual_ack``), which is the cheapest a paho client can be.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

__all__ = ["main"]


def _emit(obj: object) -> None:
    sys.stdout.buffer.write(orjson.dumps(obj) + b"\n")
    sys.stdout.buffer.flush()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--topic", default="parks/#")
    p.add_argument("--qos", type=int, default=1)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--idle-s", type=float, default=10.0)
    p.add_argument("--deadline-s", type=float, default=120.0)
    args = p.parse_args(argv)

    state: dict[str, Any] = {"count": 0, "first": 0.0, "last": 0.0}

    def on_connect(client: mqtt.Client, *_: object) -> None:
        client.subscribe(args.topic, qos=args.qos)

    def on_subscribe(*_: object) -> None:
        _emit({"ready": True})

    def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        state["count"] += 1
        now = time.time()
        if state["count"] == 1:
            state["first"] = now
        state["last"] = now

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"bench-paho-sub-{os.getpid()}",
        protocol=mqtt.MQTTv311,
    )
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    cpu0 = time.process_time()
    client.connect(args.host, args.port, keepalive=60)
    start = time.monotonic()
    deadline = start + args.deadline_s
    seen, seen_at = 0, start
    timed_out = False
    while state["count"] < args.n:
        client.loop(timeout=0.05)
        mono = time.monotonic()
        if state["count"] != seen:
            seen, seen_at = state["count"], mono
        elif (seen and mono - seen_at > args.idle_s) or mono > deadline:
            timed_out = True
            break
    cpu_s = time.process_time() - cpu0
    client.disconnect()
    _emit({"done": True, **state, "timed_out": timed_out, "cpu_s": cpu_s, "pid": os.getpid()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
