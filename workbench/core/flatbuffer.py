"""A small, bounds-checked FlatBuffers reader that also records which bytes it read.

The TFLite file format is a FlatBuffer. Reading it here (instead of through TensorFlow)
keeps `.tflite` analysis fast and lets every byte of the file be attributed to a
category (weights, quantization parameters, names, ...) for the flash breakdown.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class FlatBufferError(ValueError):
    """The bytes are not a well-formed FlatBuffer (truncated, corrupt or not a FlatBuffer)."""


class ByteLedger:
    """Remembers, for every byte of a buffer, the first category that claimed it."""

    UNCLAIMED = 0

    def __init__(self, size: int) -> None:
        self.owner = bytearray(size)
        self.names: list[str] = ["unclaimed"]

    def category(self, name: str) -> int:
        if name not in self.names:
            self.names.append(name)
        return self.names.index(name)

    def claim(self, start: int, end: int, name: str) -> None:
        code = self.category(name)
        start, end = max(start, 0), min(end, len(self.owner))
        if end <= start:
            return
        chunk = self.owner[start:end]
        if chunk.count(0) == len(chunk):
            self.owner[start:end] = bytes([code]) * (end - start)
        else:
            self.owner[start:end] = bytes(c if c else code for c in chunk)

    def totals(self) -> dict[str, int]:
        """Bytes per category, the unclaimed ones included; the values add up to the size."""
        return {name: self.owner.count(code) for code, name in enumerate(self.names)}


class Table:
    """One FlatBuffers table at `pos` inside `data`."""

    __slots__ = ("data", "pos", "_vtable", "_vtable_len", "ledger", "_cat")

    def __init__(self, data: bytes, pos: int, ledger: ByteLedger | None = None) -> None:
        self.data = data
        self.pos = pos
        self.ledger = ledger
        _check(data, pos, 4)
        vtable = pos - _I32.unpack_from(data, pos)[0]
        _check(data, vtable, 4)
        self._vtable = vtable
        self._vtable_len = _U16.unpack_from(data, vtable)[0]
        if self._vtable_len < 4 or self._vtable_len % 2:
            raise FlatBufferError(f"bad vtable at offset {vtable}")
        _check(data, vtable, self._vtable_len)

    def _field(self, index: int) -> int:
        slot = 4 + 2 * index
        if slot + 2 > self._vtable_len:
            return 0
        return int(_U16.unpack_from(self.data, self._vtable + slot)[0])

    def has(self, index: int) -> bool:
        return self._field(index) != 0

    def _scalar(self, index: int, fmt: struct.Struct, default: int | float) -> int | float:
        offset = self._field(index)
        if not offset:
            return default
        _check(self.data, self.pos + offset, fmt.size)
        return fmt.unpack_from(self.data, self.pos + offset)[0]  # type: ignore[no-any-return]

    def u8(self, index: int, default: int = 0) -> int:
        return int(self._scalar(index, _U8, default))

    def i32(self, index: int, default: int = 0) -> int:
        return int(self._scalar(index, _I32, default))

    def u32(self, index: int, default: int = 0) -> int:
        return int(self._scalar(index, _U32, default))

    def u64(self, index: int, default: int = 0) -> int:
        return int(self._scalar(index, _U64, default))

    def _indirect(self, index: int) -> int | None:
        offset = self._field(index)
        if not offset:
            return None
        where = self.pos + offset
        _check(self.data, where, 4)
        target = where + _U32.unpack_from(self.data, where)[0]
        _check(self.data, target, 4)
        return int(target)

    def table(self, index: int) -> Table | None:
        target = self._indirect(index)
        return None if target is None else Table(self.data, target, self.ledger)

    def vector_span(self, index: int, elem_size: int) -> tuple[int, int] | None:
        """(start of elements, element count) of a vector field, or None when absent."""
        target = self._indirect(index)
        if target is None:
            return None
        count = _U32.unpack_from(self.data, target)[0]
        _check(self.data, target + 4, count * elem_size)
        return target + 4, int(count)

    def claim_vector(self, index: int, elem_size: int, category: str, extra: int = 0) -> None:
        """Attribute a vector field's bytes (length prefix included) to `category`."""
        span = self.vector_span(index, elem_size)
        if span and self.ledger is not None:
            start, count = span
            self.ledger.claim(start - 4, start + count * elem_size + extra, category)

    def scalars(self, index: int, fmt: str, elem_size: int) -> list[int] | list[float]:
        span = self.vector_span(index, elem_size)
        if span is None:
            return []
        start, count = span
        return list(struct.unpack_from(f"<{count}{fmt}", self.data, start))

    def ints(self, index: int) -> list[int]:
        """An int32 vector field."""
        return [int(v) for v in self.scalars(index, "i", 4)]

    def bytes_view(self, index: int) -> memoryview | None:
        span = self.vector_span(index, 1)
        if span is None:
            return None
        start, count = span
        return memoryview(self.data)[start : start + count]

    def string(self, index: int) -> str | None:
        view = self.bytes_view(index)
        if view is None:
            return None
        return bytes(view).decode("utf-8", errors="replace")

    def tables(self, index: int) -> list[Table]:
        span = self.vector_span(index, 4)
        if span is None:
            return []
        start, count = span
        out = []
        for i in range(count):
            where = start + 4 * i
            out.append(Table(self.data, where + _U32.unpack_from(self.data, where)[0], self.ledger))
        return out

    def claim_self(self, category: str, field_sizes: Callable[[int], int] | None = None) -> None:
        """Attribute this table's inline fields and vtable to `category` (best effort)."""
        if self.ledger is None:
            return
        end = self.pos + 4
        for index in range((self._vtable_len - 4) // 2):
            offset = self._field(index)
            if offset:
                size = field_sizes(index) if field_sizes else 4
                end = max(end, self.pos + offset + size)
        self.ledger.claim(self.pos, end, category)
        self.ledger.claim(self._vtable, self._vtable + self._vtable_len, category)


def _check(data: bytes, start: int, length: int) -> None:
    if start < 0 or length < 0 or start + length > len(data):
        raise FlatBufferError(f"offset {start}+{length} is outside the {len(data)}-byte file")


def root_table(data: bytes, ledger: ByteLedger | None = None) -> Table:
    """The root table of a FlatBuffer."""
    _check(data, 0, 8)
    return Table(data, _U32.unpack_from(data, 0)[0], ledger)


def file_identifier(data: bytes) -> bytes:
    return bytes(data[4:8]) if len(data) >= 8 else b""
