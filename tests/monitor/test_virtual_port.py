"""The virtual board's port (virtual_port.py): a real pty and a real socket, read with pyserial."""

from __future__ import annotations

import os
import re
import threading
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


def test_a_send_that_may_wait_drops_nothing_while_the_reader_reads(tmp_path: Path) -> None:
    """The replay's way: far more than a pty holds, sent at once to a reader that reads as it can,
    arrives whole and in order; the send waits for room instead of dropping."""
    data = b"".join(_numbered(n) for n in range(2000))  # ~180 kB
    port = PtyPort(tmp_path / "board")
    reader = serial.Serial(str(tmp_path / "board"), 115200, timeout=0.1)
    got = bytearray()

    def read_all() -> None:
        deadline = time.monotonic() + DEADLINE_S
        while len(got) < len(data) and time.monotonic() < deadline:
            got.extend(reader.read(4096))

    reading = threading.Thread(target=read_all, daemon=True)
    try:
        reading.start()
        assert port.send(data, wait_s=DEADLINE_S) == SENT
        reading.join(DEADLINE_S)
        assert port.dropped_bytes == 0
        assert bytes(got) == data
    finally:
        reader.close()
        port.close()


def test_every_socket_client_gets_every_line_and_one_that_leaves_is_let_go() -> None:
    """Two clients get the same lines; one that closes its end is noticed (no longer written to)
    while the other goes on; at close the client still gets what was sent before the end."""
    port = SocketPort()
    first = serial.serial_for_url(port.name, timeout=DEADLINE_S)
    second = serial.serial_for_url(port.name, timeout=DEADLINE_S)
    try:
        deadline = time.monotonic() + DEADLINE_S
        while len(port.readers) < 2 and time.monotonic() < deadline:
            port.wait(0.01)
        assert port.send(_numbered(1)) == SENT
        assert first.readline() == second.readline() == _numbered(1)
        second.close()
        while len(port.readers) > 1 and time.monotonic() < deadline:
            port.wait(0.01)
        assert len(port.readers) == 1
        assert port.send(_numbered(2)) == SENT and port.send(_numbered(3)) == SENT
        port.close()
        assert first.readline() == _numbered(2) and first.readline() == _numbered(3)
    finally:
        first.close()
        port.close()


def test_a_link_replaces_a_stale_link_never_a_file_and_goes_at_close_unless_taken(tmp_path: Path) -> None:
    """A link left by a killed board is replaced; a file is kept and refused in one sentence naming
    it; closing removes the link only while it still leads to this port's device."""
    link = tmp_path / "board"
    link.symlink_to("/dev/pts/no-such-board")
    port = PtyPort(link)
    try:
        assert os.readlink(link) == port.name
    finally:
        port.close()
    assert not link.is_symlink()
    first, second = PtyPort(link), PtyPort(link)
    first.close()
    assert os.readlink(link) == second.name, "the newer port's link stays"
    second.close()
    assert not link.is_symlink()
    taken = tmp_path / "notes.txt"
    taken.write_text("keep me")
    with pytest.raises(WorkbenchError, match="not a link") as raised:
        PtyPort(taken)
    assert str(taken) in raised.value.message and "\n" not in raised.value.message
    assert taken.read_text() == "keep me"
