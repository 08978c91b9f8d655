"""The virtual board's port (virtual_port.py): a real pty and a real socket, read with pyserial."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
import serial

from workbench.core.errors import WorkbenchError
from workbench.monitor.virtual_port import FULL, NO_READER, SENT, PtyPort, SocketPort, open_port

DEADLINE_S = 10.0  # generous: the machine is shared; tests wait for conditions, not for durations


def _numbered(n: int) -> bytes:
    return f"line {n:06d} {'x' * 80}\n".encode()


LINE = re.compile(r"line (\d{6}) x{80}")


class _Lines:
    """Whole lines from a reader that is read only when asked, without waiting."""

    def __init__(self, reader: serial.Serial) -> None:
        self.reader = reader
        self.rest = b""

    def available(self) -> list[str]:
        while self.reader.in_waiting:
            self.rest += self.reader.read(self.reader.in_waiting)
        *lines, self.rest = self.rest.split(b"\n")
        return [line.decode() for line in lines]


def test_pty_port_drops_lines_when_nobody_reads_and_keeps_every_line_whole(tmp_path: Path) -> None:
    """No reader: lines are dropped at once (no backlog for the next reader). A reader that does not
    read fills the buffer; later lines are dropped, the calls never block, and what the reader gets
    is whole lines only. What a reader left unread is gone for the next one."""
    port = PtyPort(tmp_path / "board")
    try:
        assert os.readlink(tmp_path / "board") == port.name
        assert [port.send(_numbered(n)) for n in range(5)] == [NO_READER] * 5
        reader = serial.Serial(str(tmp_path / "board"), 115200, timeout=0)
        outcomes = []
        for n in range(5, 2000):  # ~180 kB: far beyond what a pty buffers
            outcomes.append(port.send(_numbered(n)))
            if outcomes[-1] == FULL and outcomes.count(FULL) > 5:
                break
        assert outcomes[0] == SENT and outcomes[-1] == FULL
        sent_before_full = outcomes.index(FULL)
        got: list[str] = []
        lines = _Lines(reader)
        deadline = time.monotonic() + DEADLINE_S
        while len(got) < sent_before_full and time.monotonic() < deadline:
            port.wait(0.01)  # finishes a line cut by a full buffer
            got += lines.available()
        numbers = [int(LINE.fullmatch(line).group(1)) for line in got]  # type: ignore[union-attr]
        assert numbers[0] == 5 and numbers == sorted(numbers)
        assert numbers[:sent_before_full] == list(range(5, 5 + sent_before_full))
        for n in range(3000, 3003):
            assert port.send(_numbered(n)) == SENT
        reader.close()  # leaves those three unread
        assert port.send(_numbered(4000)) == NO_READER
        # pyserial empties its input when it opens a port; a plain reader (cat, a terminal) does not.
        plain = os.open(tmp_path / "board", os.O_RDONLY | os.O_NOCTTY)
        try:
            assert port.send(_numbered(5000)) == SENT
            assert os.read(plain, 4096) == _numbered(5000)
        finally:
            os.close(plain)
    finally:
        port.close()
    assert not (tmp_path / "board").is_symlink()


def test_socket_port_serves_pyserial_urls_and_never_blocks() -> None:
    """The Windows transport: socket://127.0.0.1:PORT, read by serial_for_url; no client means
    dropped lines; a client that does not read fills its buffer and then loses lines, never blocking."""
    port = SocketPort()
    try:
        assert re.fullmatch(r"socket://127\.0\.0\.1:\d+", port.name)
        assert port.send(_numbered(0)) == NO_READER
        reader = serial.serial_for_url(port.name, timeout=DEADLINE_S)
        deadline = time.monotonic() + DEADLINE_S
        while port.send(_numbered(1)) == NO_READER and time.monotonic() < deadline:
            port.wait(0.01)  # until the server has accepted the client
        assert reader.readline() == _numbered(1)
        outcomes: list[str] = []
        for n in range(2, 1_000_000):  # until the client's buffers (megabytes on loopback) are full
            outcomes.append(port.send(_numbered(n)))
            if outcomes[-1] == FULL:
                break
        assert outcomes[-1] == FULL and outcomes[0] == SENT
        assert reader.readline() == _numbered(2)
        reader.close()
    finally:
        port.close()


def test_where_there_are_no_pseudo_terminals_the_board_is_a_socket(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Windows has no os.openpty: asked for a pty, the board serves a socket:// URL instead; a link
    (which needs a device to point at) is refused in one sentence saying what to do."""
    monkeypatch.delattr(os, "openpty")
    port = open_port("pty")
    try:
        assert isinstance(port, SocketPort) and port.name.startswith("socket://127.0.0.1:")
    finally:
        port.close()
    with pytest.raises(WorkbenchError, match="no pseudo-terminals") as raised:
        open_port("pty", link=tmp_path / "board")
    assert "socket://" in raised.value.hint
