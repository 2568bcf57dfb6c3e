"""Reading meters on a field bus: Modbus TCP/RTU (pymodbus's asyncio clients) and DL/T 645
(our codec over a serial port or a TCP-to-serial converter).

A poller answers :meth:`read` with the meter's values in the registry's units, transformer
ratios applied; it raises :class:`~edge.errors.MeterUnavailableError` when the meter did not
answer within the bus's timeout and retries, :class:`~edge.errors.MeterError` when it answered
with an error. A value the meter cannot give (a float32 NaN) is left out, never made up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from typing import Any, Protocol

from edge import dlt645
from edge.configfile import (
    Dlt645Meter,
    Dlt645SerialBus,
    Dlt645TcpBus,
    ModbusMeter,
    ModbusRtuBus,
    ModbusTcpBus,
)
from edge.errors import EdgeError, FrameError, MeterError, MeterUnavailableError
from edge.meter_maps import Dlt645Map, MeterMap, ModbusMap, Ratio
from edge.registers import decode_words

__all__ = [
    "AnyBus",
    "Dlt645Poller",
    "Meter",
    "ModbusPoller",
    "Poller",
    "open_poller",
    "ratio_factor",
]

log = logging.getLogger("smartpark.edge")

Meter = ModbusMeter | Dlt645Meter
AnyBus = ModbusTcpBus | ModbusRtuBus | Dlt645SerialBus | Dlt645TcpBus
_SIGNIFICANT = 9  # digits kept: more than a float32 holds, fewer than its binary noise x scale


class Poller(Protocol):
    """Reads one meter of a bus."""

    async def read(self, meter: Meter, meter_map: MeterMap) -> dict[str, float]:
        """The meter's values by registry field, in the field's unit."""
        ...

    async def close(self) -> None:
        """Release the port or connection."""
        ...


def ratio_factor(ratio: Ratio, meter: Meter) -> float:
    """The factor a value is multiplied by: CT ratio, PT ratio, both, or 1 [-]."""
    return {
        "none": 1.0,
        "ct": meter.ct_ratio,
        "pt": meter.pt_ratio,
        "ct_pt": meter.ct_ratio * meter.pt_ratio,
    }[ratio]


def _tidy(value: float) -> float:
    return float(f"{value:.{_SIGNIFICANT}g}")


class ModbusPoller:
    """One pymodbus client per bus; requests on a bus are serialised (one line, one master)."""

    def __init__(self, bus: ModbusTcpBus | ModbusRtuBus) -> None:
        from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient

        self.bus = bus
        self.client: AsyncModbusTcpClient | AsyncModbusSerialClient
        if isinstance(bus, ModbusTcpBus):
            self.client = AsyncModbusTcpClient(
                bus.host,
                port=bus.port,
                timeout=bus.timeout_s,
                retries=bus.retries,
                reconnect_delay=0,  # we reconnect on the next poll, not in the background
            )
        else:
            self.client = AsyncModbusSerialClient(
                bus.port,
                baudrate=bus.baudrate,
                parity=bus.parity,
                stopbits=bus.stopbits,
                bytesize=8,
                timeout=bus.timeout_s,
                retries=bus.retries,
                reconnect_delay=0,
            )

    async def read(self, meter: Meter, meter_map: MeterMap) -> dict[str, float]:
        """Read every block of ``meter_map`` from ``meter`` (a Modbus meter)."""
        from pymodbus.exceptions import ModbusException

        if not isinstance(meter, ModbusMeter) or not isinstance(meter_map, ModbusMap):
            raise EdgeError(f"{meter.device}: not a Modbus meter and map")
        if not self.client.connected and not await self.client.connect():
            raise MeterUnavailableError(f"{meter.device}: cannot connect to {self._where()}")
        read = (
            self.client.read_holding_registers
            if meter_map.function == "holding"
            else self.client.read_input_registers
        )
        values: dict[str, float] = {}
        for block in meter_map.blocks():
            try:
                reply = await read(block.start, count=block.count, device_id=meter.unit)
            except ModbusException as exc:
                raise MeterUnavailableError(
                    f"{meter.device}: no answer from unit {meter.unit} on {self._where()} "
                    f"after {self.bus.retries + 1} tries ({exc})"
                ) from exc
            if reply.isError():
                raise MeterError(
                    f"{meter.device}: unit {meter.unit} refused a read of {block.count} "
                    f"registers at {block.start}: {reply}"
                )
            for name in block.fields:
                entry = meter_map.fields[name]
                offset = entry.address - block.start
                words = reply.registers[offset : offset + entry.words]
                raw = decode_words(words, entry.type, meter_map.word_order)
                if math.isfinite(raw):
                    values[name] = _tidy(raw * entry.scale * ratio_factor(entry.ratio, meter))
        return values

    async def close(self) -> None:
        """Close the client."""
        self.client.close()

    def _where(self) -> str:
        bus = self.bus
        return f"{bus.host}:{bus.port}" if isinstance(bus, ModbusTcpBus) else bus.port


class _Line(Protocol):
    async def open(self) -> None: ...
    async def write(self, data: bytes) -> None: ...
    async def read_some(self, timeout_s: float) -> bytes: ...
    async def close(self) -> None: ...


class _SerialLine:
    """A serial port, read through the event loop (no thread): pyserial opened non-blocking."""

    def __init__(self, bus: Dlt645SerialBus) -> None:
        self.bus = bus
        self.port: Any = None  # serial.Serial (pyserial ships no types)

    async def open(self) -> None:
        import serial

        if self.port is not None:
            return
        try:
            self.port = serial.Serial(
                self.bus.port,
                baudrate=self.bus.baudrate,
                parity=self.bus.parity,
                stopbits=self.bus.stopbits,
                bytesize=8,
                timeout=0,
            )
        except serial.SerialException as exc:
            raise MeterUnavailableError(f"cannot open {self.bus.port}: {exc}") from exc

    async def write(self, data: bytes) -> None:
        port = self._port()
        port.reset_input_buffer()  # a late answer to an earlier request is not this one's
        port.write(data)

    async def read_some(self, timeout_s: float) -> bytes:
        port = self._port()
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        fd = port.fileno()

        def readable() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(fd, readable)
        try:
            await asyncio.wait_for(ready, timeout_s)
        finally:
            loop.remove_reader(fd)
        return bytes(port.read(port.in_waiting or 1))

    async def close(self) -> None:
        if self.port is not None:
            self.port.close()
            self.port = None

    def _port(self) -> Any:
        if self.port is None:
            raise MeterUnavailableError(f"{self.bus.port} is not open")
        return self.port


class _TcpLine:
    """A transparent TCP-to-serial converter."""

    def __init__(self, bus: Dlt645TcpBus) -> None:
        self.bus = bus
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def open(self) -> None:
        if self.streams is not None:
            return
        try:
            self.streams = await asyncio.wait_for(
                asyncio.open_connection(self.bus.host, self.bus.port), self.bus.timeout_s
            )
        except (OSError, TimeoutError) as exc:
            raise MeterUnavailableError(
                f"cannot connect to {self.bus.host}:{self.bus.port}: {exc}"
            ) from exc

    async def write(self, data: bytes) -> None:
        _, writer = self._streams()
        writer.write(data)
        await writer.drain()

    async def read_some(self, timeout_s: float) -> bytes:
        reader, _ = self._streams()
        data = await asyncio.wait_for(reader.read(256), timeout_s)
        if not data:
            await self.close()
            raise ConnectionResetError("the converter closed the connection")
        return data

    async def close(self) -> None:
        if self.streams is not None:
            _, writer = self.streams
            self.streams = None
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    def _streams(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.streams is None:
            raise MeterUnavailableError(f"{self.bus.host}:{self.bus.port} is not connected")
        return self.streams


class Dlt645Poller:
    """DL/T 645-2007 master: one request at a time, ``retries`` more tries on silence or a
    corrupt reply."""

    def __init__(self, bus: Dlt645SerialBus | Dlt645TcpBus) -> None:
        self.bus = bus
        self.line: _Line = _SerialLine(bus) if isinstance(bus, Dlt645SerialBus) else _TcpLine(bus)

    async def exchange(self, request: bytes) -> dlt645.Frame:
        """Send ``request``; the first whole reply frame. Raises
        :class:`MeterUnavailableError` after the bus's timeout and retries."""
        problem = "no answer"
        for _ in range(self.bus.retries + 1):
            try:
                await self.line.open()
                await self.line.write(request)
                return await self._reply()
            except TimeoutError:
                problem = f"no answer within {self.bus.timeout_s} s"
            except FrameError as exc:
                problem = f"a corrupt reply ({exc})"
            except OSError as exc:
                problem = f"the line failed ({exc})"
                await self.line.close()
        raise MeterUnavailableError(f"{problem}, {self.bus.retries + 1} tries")

    async def _reply(self) -> dlt645.Frame:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.bus.timeout_s
        buffer = b""
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError
            buffer += await self.line.read_some(remaining)
            frame, used = dlt645.parse_frame(buffer)
            if frame is not None:
                return frame
            buffer = buffer[used:]

    async def discover(self) -> str:
        """The address of the one meter on the line (read-address to the broadcast address)."""
        frame = await self.exchange(dlt645.read_address_request())
        if frame.control != dlt645.READ_ADDRESS_REPLY or len(frame.data) != 6:
            raise MeterError(f"unexpected reply to read-address: control {frame.control:02X}")
        return frame.data[::-1].hex().upper()

    async def read_value(self, address: str, di: dlt645.DataId) -> float:
        """One data identifier of the meter ``address``, in the identifier's unit."""
        try:
            frame = await self.exchange(dlt645.read_data_request(address, di.code))
        except MeterUnavailableError as exc:
            raise MeterUnavailableError(f"meter {address}, DI {di.code:08X}: {exc}") from exc
        if frame.address != address:
            raise MeterError(f"meter {address}: a reply from {frame.address}")
        if frame.control == dlt645.READ_DATA_ERROR:
            code = frame.data[0] if frame.data else 0
            raise MeterError(f"meter {address}, DI {di.code:08X}: error reply {code:02X}")
        if frame.control != dlt645.READ_DATA_REPLY or frame.data[:4] != di.code.to_bytes(
            4, "little"
        ):
            raise MeterError(f"meter {address}: unexpected reply {frame}")
        return dlt645.decode_value(di, frame.data[4 : 4 + di.size])

    async def read(self, meter: Meter, meter_map: MeterMap) -> dict[str, float]:
        """Read every data identifier of ``meter_map`` from ``meter`` (a DL/T 645 meter)."""
        if not isinstance(meter, Dlt645Meter) or not isinstance(meter_map, Dlt645Map):
            raise EdgeError(f"{meter.device}: not a DL/T 645 meter and map")
        values: dict[str, float] = {}
        for name, entry in meter_map.fields.items():
            try:
                raw = await self.read_value(meter.address, entry.data_id)
            except FrameError as exc:
                raise MeterError(f"{meter.device}: {exc}") from exc
            values[name] = _tidy(raw * ratio_factor(entry.ratio, meter))
        return values

    async def close(self) -> None:
        """Close the port or connection."""
        await self.line.close()


def open_poller(bus: AnyBus) -> Poller:
    """The poller of ``bus`` (nothing is opened until the first read)."""
    if isinstance(bus, ModbusTcpBus | ModbusRtuBus):
        return ModbusPoller(bus)
    return Dlt645Poller(bus)
