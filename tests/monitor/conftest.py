"""Shared fixtures of the monitor tests: real pseudo-terminals standing in for a board.

`PtyPort` opens a pty with os.openpty(), sets it raw (no echo, no line editing: bytes pass as a
USB serial port passes them) and points a symlink at its device, the way udev names a board
(/dev/serial/by-id/...). The monitor opens the symlink; the test writes on the master side as
the board would. `unplug()` closes the pty and removes the link (a cable pulled), `plug()` opens
a new pty behind the same link (the board back, maybe as another device node). `board_server`
is a TCP server standing in for a board behind a socket:// URL.
"""

from __future__ import annotations

import os
import queue
import socket
import threading
import time
import tty
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

DEADLINE_S = 10.0  # generous: the machine is shared; tests wait for conditions, never for durations


class PtyPort:
    """A pseudo-terminal behind a symlink at `link`; write() sends bytes as a board would."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.master = -1
        self.slave = -1
        self.device = ""
        self.plug()

    @property
    def path(self) -> str:
        """What the monitor opens: the symlink."""
        return str(self.link)

    def plug(self) -> None:
        """Open a new pty, raw, and point the link at it."""
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.device = os.ttyname(self.slave)
        temporary = self.link.with_name(self.link.name + ".new")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(self.device)
        temporary.replace(self.link)  # atomic, like udev

    def unplug(self) -> None:
        """Close the pty (the device goes away under whoever has it open) and remove the link."""
        self.link.unlink(missing_ok=True)
        for fd in (self.master, self.slave):
            if fd >= 0:
                os.close(fd)
        self.master = self.slave = -1

    def replug(self) -> None:
        self.unplug()
        self.plug()

    def write(self, data: bytes) -> None:
        """Send all of `data` (blocks while the port's buffer is full, as a board's UART waits)."""
        view = memoryview(data)
        while view:
            written = os.write(self.master, view)
            view = view[written:]

    def close(self) -> None:
        self.unplug()


@pytest.fixture
def pty_port(tmp_path: Path) -> Iterator[PtyPort]:
    """A pty behind the symlink `<tmp>/ttyBOARD`, closed after the test."""
    port = PtyPort(tmp_path / "ttyBOARD")
    yield port
    port.close()


@pytest.fixture
def board_server() -> Iterator[tuple[str, queue.Queue[socket.socket]]]:
    """A TCP server standing in for a board behind socket://: each accepted connection is queued."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted: queue.Queue[socket.socket] = queue.Queue()

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            accepted.put(connection)

    threading.Thread(target=serve, daemon=True).start()
    yield f"socket://127.0.0.1:{server.getsockname()[1]}", accepted
    server.close()


def wait_for(condition: Callable[[], bool], what: str, deadline_s: float = DEADLINE_S) -> None:
    """Wait until `condition()` holds; fail naming `what` if it does not within the deadline."""
    end = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)
