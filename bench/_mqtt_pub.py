"""A minimal, fast MQTT 3.1.1 QoS 1 publisher for the benchmarks (run as its own process).

Raw socket, no client library: every message's PUBLISH packet is built from a per-device template
with one ``bytes.replace`` (the reading's ``ts``) and the packet id, and at most ``window``
PUBLISHes wait for their PUBACK at any time, like a real client's in-flight limit. ``mosquitto_pub
-l -q 1`` cannot be used instead (``docs/sources/performance.md`` §7.2).

The ``ts`` of each reading is the wall-clock time [ms since the epoch] at which its message is
handed to the socket, so the time InfluxDB stores is the publish time, and a reading's
publish→stored latency can be read back from the store (see ``docs/benchmarks.md``). ``ts`` is
unique per device: a device's next message gets at least its previous ``ts`` + 1 ms. A gateway
batch of ``k`` readings carries ``ts`` = publish ms + 0.000, 0.001, … ms (1 µs apart).

Output, one JSON object per line on stdout:

- once connected, then every ``progress_s`` while publishing: ``{"upto_ms": M, "buckets":
  {"<ts // bucket_ms>": readings, ...}, "sent": S, "acked": A}``: readings stamped since the
  previous line, per ``bucket_ms`` bucket of ``ts``; no reading stamped later can have
  ``ts`` < ``upto_ms``;
- at the end: ``{"done": true, ...}`` with counts, times and the publisher's own CPU seconds.

Bounded: stops after ``--n`` messages or ``--deadline-s`` seconds, whichever comes first.
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import sys
import time
from collections import Counter
from dataclasses import dataclass

import orjson

__all__ = ["PLACEHOLDER", "Workload", "connect_packet", "main", "remaining_length"]

PLACEHOLDER = b"@@@@@@@@@@@@@"  # 13 characters: epoch ms has 13 digits until the year 2286
_PUBLISH_QOS1 = 0x32
_PUBACK = 0x40
_DISCONNECT = b"\xe0\x00"
_MAX_PER_SEND = 64  # packets joined into one sendall()


def remaining_length(n: int) -> bytes:
    """MQTT's variable-length encoding of a packet's remaining length."""
    out = bytearray()
    while True:
        digit, n = n % 128, n // 128
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _utf8(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(2, "big") + raw


def connect_packet(client_id: str, *, keepalive_s: int = 0) -> bytes:
    """CONNECT, MQTT 3.1.1, clean session; keepalive 0 = no PINGREQ needed (bounded runs)."""
    body = _utf8("MQTT") + bytes([4, 0x02]) + keepalive_s.to_bytes(2, "big") + _utf8(client_id)
    return bytes([0x10]) + remaining_length(len(body)) + body


@dataclass(frozen=True)
class Workload:
    """What to publish: ``devices`` meters of ``park``, one reading or a gateway batch each."""

    park: str
    devices: int
    readings_per_message: int  # 1 = {"ts":…, "energy":…, "power":…}; k > 1 = {"readings": [k]}

    def device_id(self, i: int) -> str:
        return f"m-{i:04d}"

    def topic(self, i: int) -> str:
        return f"parks/{self.park}/devices/{self.device_id(i)}/telemetry"

    def payload_template(self, i: int) -> bytes:
        """The payload with :data:`PLACEHOLDER` where the publish time goes."""
        energy_kwh = 1000.0 + 7.25 * i
        power_kw = round(1.0 + (i % 97) * 0.5, 3)
        ts = PLACEHOLDER.decode()
        if self.readings_per_message == 1:
            return f'{{"ts": {ts}, "energy": {energy_kwh:.3f}, "power": {power_kw}}}'.encode()
        readings = ", ".join(
            f'{{"ts": {ts}.{k:03d}, "energy": {energy_kwh + k * 0.001:.3f}, "power": {power_kw}}}'
            for k in range(self.readings_per_message)
        )
        return f'{{"readings": [{readings}]}}'.encode()

    def templates(self) -> list[tuple[bytes, bytes]]:
        """Per device: (fixed header + topic, payload template); the packet id goes between."""
        out = []
        for i in range(self.devices):
            topic = _utf8(self.topic(i))
            payload = self.payload_template(i)
            size = len(topic) + 2 + len(payload)
            out.append((bytes([_PUBLISH_QOS1]) + remaining_length(size) + topic, payload))
        return out


def _emit(obj: object) -> None:
    sys.stdout.buffer.write(orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS) + b"\n")
    sys.stdout.buffer.flush()


def publish(
    *,
    host: str,
    port: int,
    workload: Workload,
    n: int,
    window: int,
    rate: float,
    deadline_s: float,
    client_id: str,
    bucket_ms: int,
    progress_s: float,
) -> dict[str, object]:
    """Publish ``n`` messages (at ``rate`` messages/s, 0 = as fast as the window allows)."""
    if not 1 <= window < 32768:
        raise ValueError("window must be in 1..32767 (packet ids are recycled)")
    templates = workload.templates()
    last_ms = [0] * workload.devices
    k = workload.readings_per_message
    cpu0 = time.process_time()
    sock = socket.create_connection((host, port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(connect_packet(client_id))
    connack = b""
    while len(connack) < 4:
        chunk = sock.recv(4 - len(connack))
        if not chunk:
            raise ConnectionError("broker closed the connection before CONNACK")
        connack += chunk
    if connack[0] != 0x20 or connack[3] != 0:
        raise ConnectionError(f"broker refused CONNECT: {connack!r}")
    sock.setblocking(False)

    _emit({"upto_ms": int(time.time() * 1000), "buckets": {}, "sent": 0, "acked": 0})
    sent = acked = 0
    rest = b""
    buckets: Counter[int] = Counter()
    first_ms = last_stamp_ms = 0
    start = time.time()
    deadline = time.monotonic() + deadline_s
    next_progress = time.monotonic() + progress_s
    timed_out = False
    while acked < n:
        mono = time.monotonic()
        if mono >= deadline:
            timed_out = True
            break
        allowed = n if rate <= 0 else min(n, int((time.time() - start) * rate) + 1)
        room = min(window - (sent - acked), allowed - sent, _MAX_PER_SEND)
        if room > 0:
            packets = []
            for _ in range(room):
                device = sent % workload.devices
                now_ms = int(time.time() * 1000)
                ms = max(now_ms, last_ms[device] + 1)
                last_ms[device] = ms
                head, payload = templates[device]
                packets.append(
                    head
                    + (sent % 65535 + 1).to_bytes(2, "big")
                    + payload.replace(PLACEHOLDER, str(ms).encode())
                )
                buckets[ms // bucket_ms] += k
                if not sent:
                    first_ms = ms
                last_stamp_ms = ms
                sent += 1
            sock.setblocking(True)
            sock.sendall(b"".join(packets))
            sock.setblocking(False)
        # wait for PUBACKs only when there is nothing else to do
        if sent - acked >= window or sent >= allowed:
            wait = (
                0.05
                if rate <= 0 or sent >= n
                else max(0.0, (sent + 1) / rate - (time.time() - start))
            )
            select.select([sock], [], [], min(wait, 0.05))
        try:
            data = sock.recv(1 << 16)
        except BlockingIOError:
            data = None
        if data is not None:
            if not data:
                raise ConnectionError(f"broker closed the connection after {acked} PUBACKs")
            rest += data
            whole = len(rest) // 4
            acks, rest = rest[: whole * 4], rest[whole * 4 :]
            if acks[0::4].count(_PUBACK) != whole:
                raise ConnectionError(f"unexpected packet from the broker: {acks[:16]!r}")
            acked += whole
        if mono >= next_progress:
            next_progress = mono + progress_s
            upto_ms = int(time.time() * 1000)
            _emit({"upto_ms": upto_ms, "buckets": buckets, "sent": sent, "acked": acked})
            buckets = Counter()
    end = time.time()
    sock.setblocking(True)
    try:
        sock.sendall(_DISCONNECT)
    finally:
        sock.close()
    return {
        "done": True,
        "upto_ms": int(time.time() * 1000) + 1,
        "buckets": buckets,
        "sent": sent,
        "acked": acked,
        "readings_sent": sent * k,
        "timed_out": timed_out,
        "start": start,
        "end": end,
        "first_ms": first_ms,
        "last_ms": last_stamp_ms,
        "cpu_s": time.process_time() - cpu0,
        "pid": os.getpid(),
    }


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m bench._mqtt_pub --port P --n N [...]``."""
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--park", default="bench")
    p.add_argument("--devices", type=int, default=1000)
    p.add_argument("--readings", type=int, default=1, help="readings per message")
    p.add_argument("--n", type=int, required=True, help="messages")
    p.add_argument("--window", type=int, default=200, help="QoS 1 PUBLISHes in flight")
    p.add_argument("--rate", type=float, default=0.0, help="messages/s; 0 = as fast as possible")
    p.add_argument("--deadline-s", type=float, default=300.0)
    p.add_argument("--client-id", default=f"bench-pub-{os.getpid()}")
    p.add_argument("--bucket-ms", type=int, default=10)
    p.add_argument("--progress-s", type=float, default=0.1)
    args = p.parse_args(argv)
    result = publish(
        host=args.host,
        port=args.port,
        workload=Workload(args.park, args.devices, args.readings),
        n=args.n,
        window=args.window,
        rate=args.rate,
        deadline_s=args.deadline_s,
        client_id=args.client_id,
        bucket_ms=args.bucket_ms,
        progress_s=args.progress_s,
    )
    _emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
