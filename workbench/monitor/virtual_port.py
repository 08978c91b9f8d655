"""The virtual board's serial port: a pseudo-terminal, or (Windows has none) a TCP socket.

A board keeps printing whether or not anyone listens, so `send` never blocks: while nobody has the
port open a line is dropped at once (no backlog for the next reader), and while a reader has it open
but is not reading, the lines that do not fit in its buffer are dropped. A line is never cut: a part
that did not fit is finished before any later line. The socket is served on 127.0.0.1 and opened by
pyserial (and so the Monitor) as `socket://127.0.0.1:PORT`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.errors import WorkbenchError

log = logging.getLogger(__name__)

TRANSPORTS = ("pty", "socket")
SENT, NO_READER, FULL = "sent", "no reader", "full"


class VirtualPort(ABC):
    """A serial port this process serves. `send` never blocks: it says whether the bytes went out."""

    name: str  # what a reader opens: /dev/pts/5, or socket://127.0.0.1:50123

    @abstractmethod
    def send(self, data: bytes) -> str:
        """Write one whole line: SENT, NO_READER (dropped: nobody has the port open) or FULL
        (dropped: the reader's buffer is full). A line is never cut: a part that did not fit is
        finished before any later line."""

    @abstractmethod
    def wait(self, timeout_s: float) -> None:
        """Sleep up to `timeout_s`, meanwhile finishing a cut line and reading (and ignoring) what
        readers send."""

    @abstractmethod
    def close(self) -> None:
        """Close the port (and remove its link)."""


class PtyPort(VirtualPort):
    """A pseudo-terminal. This process keeps only the master side open, so the master reports a
    hang-up exactly while no reader has the other side open: lines are then dropped, and what a
    reader left unread when it closed the port is thrown away, so the next one starts on a fresh line."""

    def __init__(self, link: Path | None = None) -> None:
        import tty

        self._master, follower = os.openpty()
        self.name = os.ttyname(follower)
        try:
            tty.setraw(follower)  # no echo, no line editing, no CR/LF translation: bytes as they are
        finally:
            os.close(follower)
        os.set_blocking(self._master, False)
        self._pending = b""
        self._reader = False
        self._poller = select.poll()
        self.link: Path | None = None
        try:
            if link is not None:
                self.link = make_link(link, self.name)
        except BaseException:
            os.close(self._master)
            raise

    def _look(self, timeout_ms: int, mask: int) -> list[int]:
        """Polls the master; notes whether a reader has the port open (no hang-up) and, when the
        last one has just left, throws away what it left unread."""
        self._poller.register(self._master, mask)
        events = [event for _, event in self._poller.poll(timeout_ms)]
        reader = not any(event & select.POLLHUP for event in events)
        if self._reader and not reader:
            self._forget_unread()
            self._pending = b""
        self._reader = reader
        return events

    def _forget_unread(self) -> None:
        """Throws away what the last reader left unread. Flushing from the master side does not
        reach it once the device is closed, so the device is opened for a moment and flushed."""
        import termios

        with contextlib.suppress(OSError):
            device = os.open(self.name, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
            try:
                termios.tcflush(device, termios.TCIFLUSH)
            finally:
                os.close(device)

    def _write(self, data: bytes) -> bytes:
        """Writes what fits; returns the rest."""
        try:
            written = os.write(self._master, data)
        except BlockingIOError:
            return data
        return data[written:]

    def send(self, data: bytes) -> str:
        self._look(0, select.POLLIN)
        if not self._reader:
            return NO_READER
        try:
            if self._pending:
                self._pending = self._write(self._pending)
                if self._pending:
                    return FULL
            rest = self._write(data)
        except OSError:  # the reader went away between the look and the write
            self._pending = b""
            return NO_READER
        if rest == data:
            return FULL  # nothing of it fitted: dropped whole
        self._pending = rest
        return SENT

    def wait(self, timeout_s: float) -> None:
        started = time.monotonic()
        if self._reader:
            mask = select.POLLIN | (select.POLLOUT if self._pending else 0)
            events = self._look(round(timeout_s * 1000), mask)
            if self._reader:
                with contextlib.suppress(OSError):
                    if any(event & select.POLLIN for event in events):
                        os.read(self._master, 4096)  # the sketch reads inputs here; the simulator makes its own
                    if self._pending and any(event & select.POLLOUT for event in events):
                        self._pending = self._write(self._pending)
                return
        # No reader: a hung-up master polls as ready at once, so there is nothing to wait on.
        time.sleep(max(0.0, timeout_s - (time.monotonic() - started)))

    def close(self) -> None:
        if self.link is not None:
            remove_link(self.link, self.name)
            self.link = None
        with contextlib.suppress(OSError):
            os.close(self._master)


@dataclass
class _Client:
    sock: socket.socket
    pending: bytes = b""


class SocketPort(VirtualPort):
    """A TCP server on 127.0.0.1 that pyserial opens as `socket://127.0.0.1:PORT` (Windows has no
    pseudo-terminals). Every connected client gets every line; none connected means dropped lines."""

    def __init__(self, port: int = 0) -> None:
        try:
            self._server = socket.create_server(("127.0.0.1", port))
        except OSError as error:
            raise WorkbenchError(
                f"port {port} on 127.0.0.1 cannot be served ({error.strerror or error})",
                "Choose another port, or 0 for any free one.",
            ) from None
        self._server.setblocking(False)
        self.name = f"socket://127.0.0.1:{self._server.getsockname()[1]}"
        self._clients: list[_Client] = []

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._server.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            sock.setblocking(False)
            self._clients.append(_Client(sock))

    def _drop(self, client: _Client) -> None:
        with contextlib.suppress(OSError):
            client.sock.close()
        self._clients.remove(client)

    def _write(self, client: _Client, data: bytes) -> bool:
        """Sends what fits, keeps the rest in `pending`; False when the client is gone."""
        try:
            sent = client.sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._drop(client)
            return False
        client.pending = data[sent:]
        return True

    def send(self, data: bytes) -> str:
        self._accept()
        delivered = False
        for client in list(self._clients):
            if client.pending and (not self._write(client, client.pending) or client.pending):
                continue  # gone, or still full: this line is dropped for it
            if not self._write(client, data):
                continue
            if client.pending == data:
                client.pending = b""  # nothing of it fitted: dropped whole
            else:
                delivered = True
        if delivered:
            return SENT
        return FULL if self._clients else NO_READER

    def wait(self, timeout_s: float) -> None:
        readable: list[Any] = [self._server, *(c.sock for c in self._clients)]
        writable = [c.sock for c in self._clients if c.pending]
        try:
            ready, can_write, _ = select.select(readable, writable, [], timeout_s)
        except (OSError, ValueError):
            time.sleep(timeout_s)
            return
        for client in list(self._clients):
            if client.sock in ready:
                try:
                    if not client.sock.recv(4096):  # the reader closed the connection
                        self._drop(client)
                        continue
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    self._drop(client)
                    continue
            if client.sock in can_write and client.pending:
                self._write(client, client.pending)
        if self._server in ready:
            self._accept()

    def close(self) -> None:
        for client in list(self._clients):
            self._drop(client)
        with contextlib.suppress(OSError):
            self._server.close()


def make_link(link: Path, target: str) -> Path:
    """A symlink at `link` to the device `target`, put in place in one step (rename), replacing an
    earlier link (left by a board that was killed); a file or folder at `link` is never replaced."""
    link = Path(os.path.abspath(link.expanduser()))
    if link.exists() and not link.is_symlink():
        raise WorkbenchError(
            f"{link}: is a file or folder, not a link; the virtual board will not replace it",
            "Choose a path where nothing is yet (or where an earlier board's link is).",
        )
    if not link.parent.is_dir():
        raise WorkbenchError(f"{link.parent}: no such folder for the link")
    if link.is_symlink():
        log.info("replacing the link %s (to %s) with one to %s", link, os.readlink(link), target)
    temporary = link.with_name(f".{link.name}.{os.getpid()}.{threading.get_ident()}.link")
    try:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        os.symlink(target, temporary)
        os.replace(temporary, link)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise WorkbenchError(f"{link}: the link cannot be made ({error.strerror or error})") from None
    return link


def remove_link(link: Path, target: str) -> None:
    """Removes `link` if it still leads to `target` (another board may have taken the path since)."""
    with contextlib.suppress(OSError):
        if os.readlink(link) == target:
            link.unlink()


def open_port(transport: str, link: Path | None = None, port: int = 0) -> VirtualPort:
    """The port to serve: "pty" (where the system has pseudo-terminals; on Windows the socket
    instead) or "socket" (127.0.0.1:`port`, any free one when 0). A link needs a pty."""
    if transport not in TRANSPORTS:
        raise WorkbenchError(f"unknown transport '{transport}' (choose {' or '.join(TRANSPORTS)})")
    if transport == "pty" and not hasattr(os, "openpty"):
        if link is not None:
            raise WorkbenchError(
                "this system has no pseudo-terminals to link to",
                "Leave out the link: the board is then served as a socket:// URL, which the Monitor opens as a port.",
            )
        log.info("no pseudo-terminals here: serving the virtual board as a socket")
        transport = "socket"
    if transport == "socket":
        if link is not None:
            raise WorkbenchError(
                "a link needs a pseudo-terminal; a socket board is reached at its socket:// URL",
                "Leave out the link, or serve a pty.",
            )
        return SocketPort(port)
    try:
        return PtyPort(link)
    except OSError as error:
        raise WorkbenchError(f"a pseudo-terminal cannot be opened ({error.strerror or error})") from None
