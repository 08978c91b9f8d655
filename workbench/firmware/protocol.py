"""The host side of the workbench firmware's framed protocol (docs/firmware-protocol.md).

`encode(type, payload)` makes a frame; `FrameReader` finds frames in what a port gives (skipping
the banner and demo lines the firmware printed before host mode); `HostLink` drives a board over
a serial port: hello, set_input, invoke, get_output, get_profile.
"""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from workbench.core.errors import WorkbenchError

SYNC = b"\xa5\x5a"
MAX_PAYLOAD = 4096
PROTOCOL_VERSION = 1

HELLO, SET_INPUT, INVOKE, GET_OUTPUT, GET_PROFILE, DEMO = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
OK, INFO, INVOKED, OUTPUT, PROFILE, ERROR = 0x80, 0x81, 0x83, 0x84, 0x85, 0xEE
ERROR_CODES = {1: "bad frame", 2: "unknown request", 3: "no model", 4: "tensor index or range", 5: "invoke failed"}
BANNER_WORD = "workbench-firmware"

_HEAD = struct.Struct("<HB")


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def encode(kind: int, payload: bytes = b"") -> bytes:
    """One frame: sync, length, type, payload, CRC-32 of length+type+payload."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"a frame carries at most {MAX_PAYLOAD} bytes, not {len(payload)}")
    body = _HEAD.pack(len(payload), kind) + payload
    return SYNC + body + struct.pack("<I", crc32(body))


@dataclass(frozen=True)
class Frame:
    kind: int
    payload: bytes


class FrameReader:
    """Frames found in a byte stream; bytes outside frames (text lines) are kept in `text`."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.text = bytearray()
        self.bad_frames = 0

    def feed(self, data: bytes) -> Iterator[Frame]:
        self._buffer += data
        buffer = self._buffer
        while True:
            start = buffer.find(SYNC)
            if start < 0:
                keep = 1 if buffer.endswith(SYNC[:1]) else 0
                self.text += buffer[: len(buffer) - keep]
                del buffer[: len(buffer) - keep]
                return
            self.text += buffer[:start]
            del buffer[:start]
            if len(buffer) < 2 + _HEAD.size:
                return
            length, kind = _HEAD.unpack_from(buffer, 2)
            if length > MAX_PAYLOAD:
                self.bad_frames += 1
                del buffer[:1]
                continue
            end = 2 + _HEAD.size + length + 4
            if len(buffer) < end:
                return
            body = bytes(buffer[2 : end - 4])
            (crc,) = struct.unpack_from("<I", buffer, end - 4)
            if crc != crc32(body):
                self.bad_frames += 1
                del buffer[:1]
                continue
            del buffer[:end]
            yield Frame(kind, body[_HEAD.size :])


def parse_fields(text: str) -> dict[str, str]:
    """`key=value key=value` (a banner line without its first word, or an INFO payload)."""
    fields = {}
    for word in text.split():
        key, sep, value = word.partition("=")
        if sep:
            fields[key] = value
    return fields


def banner_fields(line: str) -> dict[str, str] | None:
    """The fields of a firmware banner line, or None when `line` is not one."""
    words = line.strip().split(maxsplit=1)
    if not words or words[0] != BANNER_WORD:
        return None
    return parse_fields(words[1] if len(words) > 1 else "")


@dataclass
class TensorSlot:
    dtype: str  # int8, uint8, int16, int32, float32
    nbytes: int


@dataclass
class BoardInfo:
    """What the firmware says of itself (the INFO reply)."""

    fields: dict[str, str]
    inputs: list[TensorSlot] = field(default_factory=list)
    outputs: list[TensorSlot] = field(default_factory=list)

    @classmethod
    def from_text(cls, text: str) -> BoardInfo:
        fields = parse_fields(text)

        def tensors(prefix: str, count: str) -> list[TensorSlot]:
            out = []
            for index in range(int(fields.get(count, "0"))):
                dtype, _, nbytes = fields.get(f"{prefix}{index}", "?:0").partition(":")
                out.append(TensorSlot(dtype, int(nbytes or 0)))
            return out

        return cls(fields, tensors("in", "inputs"), tensors("out", "outputs"))

    @property
    def clock(self) -> str:
        return self.fields.get("clock", "ticks")

    @property
    def clock_hz(self) -> float:
        return float(self.fields.get("clock_hz", "0") or 0)

    @property
    def missing_ops(self) -> list[str]:
        value = self.fields.get("missing", "-")
        return [] if value in ("", "-") else value.split(",")

    @property
    def runnable(self) -> bool:
        return self.fields.get("slot") == "ok" and not self.missing_ops and "error" not in self.fields


@dataclass(frozen=True)
class OpTime:
    name: str
    ticks: int


class Port(Protocol):
    def write(self, data: bytes) -> int | None: ...
    def read(self, size: int = 1) -> bytes: ...
    @property
    def in_waiting(self) -> int: ...


class HostLink:
    """Requests to the firmware over an open port, one at a time; raises WorkbenchError on a board
    that does not answer, answers with an error, or answers what was not asked."""

    def __init__(self, port: Any, timeout_s: float = 10.0, name: str = "the board") -> None:
        self.port: Port = port
        self.timeout_s = timeout_s
        self.name = name
        self.reader = FrameReader()
        self._pending: list[Frame] = []

    def request(self, kind: int, payload: bytes = b"", expect: int = OK, timeout_s: float | None = None) -> bytes:
        self.port.write(encode(kind, payload))
        frame = self._next_frame(self.timeout_s if timeout_s is None else timeout_s)
        if frame.kind == ERROR:
            code = frame.payload[0] if frame.payload else 0
            text = frame.payload[1:].decode("utf-8", errors="replace")
            raise WorkbenchError(
                f"{self.name} refused the request: {ERROR_CODES.get(code, f'error {code}')}"
                + (f" ({text})" if text else "")
            )
        if frame.kind != expect:
            raise WorkbenchError(f"{self.name} answered 0x{frame.kind:02X} where 0x{expect:02X} was expected")
        return frame.payload

    def _next_frame(self, timeout_s: float) -> Frame:
        if self._pending:
            return self._pending.pop(0)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            data = self.port.read(max(1, self.port.in_waiting))
            if data:
                self._pending.extend(self.reader.feed(data))
                if self._pending:
                    return self._pending.pop(0)
        raise WorkbenchError(
            f"{self.name} did not answer within {timeout_s:g} s",
            "Check that the board runs the workbench firmware (its banner starts with 'workbench-firmware') "
            "and that nothing else holds the port.",
        )

    def hello(self) -> BoardInfo:
        return BoardInfo.from_text(self.request(HELLO, expect=INFO).decode("utf-8", errors="replace"))

    def set_input(self, index: int, data: bytes) -> None:
        chunk = MAX_PAYLOAD - 5
        for offset in range(0, max(len(data), 1), chunk):
            self.request(SET_INPUT, struct.pack("<BI", index, offset) + data[offset : offset + chunk])

    def invoke(self, timeout_s: float = 120.0) -> int:
        """Run the model once; returns the ticks it took."""
        payload = self.request(INVOKE, expect=INVOKED, timeout_s=timeout_s)
        status, low, high = struct.unpack("<BII", payload[:9])
        if status != 0:
            raise WorkbenchError(f"{self.name} failed to run the model (status {status})")
        return low | (high << 32)

    def get_output(self, index: int, nbytes: int) -> bytes:
        out = bytearray()
        while len(out) < nbytes:
            want = min(MAX_PAYLOAD, nbytes - len(out))
            part = self.request(GET_OUTPUT, struct.pack("<BIH", index, len(out), want), expect=OUTPUT)
            if not part:
                raise WorkbenchError(f"{self.name} gave {len(out)} bytes of output {index}, not {nbytes}")
            out += part
        return bytes(out)

    def get_profile(self) -> list[OpTime]:
        payload = self.request(GET_PROFILE, expect=PROFILE)
        (count,) = struct.unpack_from("<H", payload)
        position, out = 2, []
        for _ in range(count):
            ticks, length = struct.unpack_from("<IB", payload, position)
            position += 5
            out.append(OpTime(payload[position : position + length].decode("ascii", errors="replace"), ticks))
            position += length
        return out

    def demo(self) -> None:
        self.request(DEMO)
