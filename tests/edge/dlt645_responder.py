"""A DL/T 645-2007 meter (or several on one line) answering on a pseudo-terminal.

    python -m tests.edge.dlt645_responder ADDRESS...    # prints "PTY <path>" when serving

Answers read-address (0x13, broadcast) with the first address, and read-data (0x11) for the
identifiers of the shipped DL/T 645 map: energy 00 00 00 00 = 5000.00 + 0.01 n kWh (n counts
that meter's energy reads), power 02 03 00 00 = 1.2345 kW, current 02 02 01 00 = -1.234 A (the
sign bit set), power factor 02 06 00 00 = 0.987, voltage 02 01 01 00 = 229.8 V; any other
identifier gets the abnormal reply 0xD1 with error byte 0x02 (no such data). A frame for an
address it does not serve gets no answer, as on a real line.
"""

from __future__ import annotations

import os
import sys
import termios
import tty

from edge import dlt645
from edge.errors import FrameError

VALUES = {0x02030000: 1.2345, 0x02020100: -1.234, 0x02060000: 0.987, 0x02010100: 229.8}


def energy_kwh(reads: int) -> float:
    """What the n-th energy read answers [kWh]."""
    return round(5000.0 + 0.01 * reads, 2)


def main(addresses: list[str]) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    print(f"PTY {os.ttyname(slave)}", flush=True)
    reads = dict.fromkeys(addresses, 0)
    buffer = b""
    while True:
        try:
            buffer += os.read(master, 256)
        except OSError:  # no client on the other side yet
            import time

            time.sleep(0.01)
            continue
        while True:
            try:
                frame, used = dlt645.parse_frame(buffer)
            except FrameError:
                buffer = buffer[1:]
                continue
            buffer = buffer[used:]
            if frame is None:
                break
            reply = answer(frame, addresses, reads)
            if reply is not None:
                os.write(master, dlt645.encode_frame(reply))


def answer(frame: dlt645.Frame, addresses: list[str], reads: dict[str, int]) -> dlt645.Frame | None:
    if frame.control == dlt645.READ_ADDRESS and frame.address == dlt645.BROADCAST_ADDRESS:
        first = addresses[0]
        return dlt645.Frame(first, dlt645.READ_ADDRESS_REPLY, bytes.fromhex(first)[::-1])
    if frame.control != dlt645.READ_DATA or frame.address not in reads:
        return None
    code = int.from_bytes(frame.data[:4], "little")
    di = dlt645.DATA_IDS.get(code)
    if code == 0x00000000:
        reads[frame.address] += 1
        value = energy_kwh(reads[frame.address])
    elif di is not None and code in VALUES:
        value = VALUES[code]
    else:
        return dlt645.Frame(frame.address, dlt645.READ_DATA_ERROR, b"\x02")
    assert di is not None
    return dlt645.Frame(
        frame.address, dlt645.READ_DATA_REPLY, frame.data[:4] + dlt645.encode_value(di, value)
    )


if __name__ == "__main__":
    main(sys.argv[1:])
