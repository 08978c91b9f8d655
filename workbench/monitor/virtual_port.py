"""A serial port this process serves: a pseudo-terminal, or (Windows has none) a TCP socket.

The virtual board (simulator.py) and a replayed recording (replay.py) both print through it. The
pty's device can also be reached at a symlink, put in place in one step and removed at the end;
the socket is served on 127.0.0.1 and opened by pyserial (and so the Monitor) as
`socket://127.0.0.1:PORT`, every connected client getting every line.

Writes never block for long. `send` hands over whole lines and never cuts one: the part of a line
that did not fit is finished before any later line. While nobody has the port open a line is
dropped at once (no backlog for the next reader), and what a reader left unread when it closed
the port is thrown away, so the next one starts on a fresh line. While a reader has the port open
but does not take what fits in its buffer, `send` waits up to `wait_s` for it (0, the board's way:
not at all); a reader that took nothing for that long is stalled, and the lines that do not fit
are dropped at once until it reads again. `wait_for_reader`, `pause` and `drain` serve a player
that starts once someone listens and lets the reader take everything before closing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import struct
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.errors import WorkbenchError
from workbench.tasks import Task

log = logging.getLogger(__name__)

PTY, SOCKET = "pty", "socket"
TRANSPORTS = (PTY, SOCKET)
SENT, NO_READER, FULL = "sent", "no reader", "full"
POLL_S = 0.05  # how often the waits here look at readers and at cancellation
READ_BYTES = 4096  # what a reader sends is read (and ignored) in pieces of this size


@dataclass(eq=False)
class Reader:
    """One reader's end of the port: the pty's master while someone has the device open, or the
    socket of one connected client."""

    handle: Any  # the master's file descriptor, or the client's socket
    pending: bytes = b""  # the end of a line begun, written before anything else
    stalled: bool = False  # took nothing for a whole wait: lines are dropped without waiting


class VirtualPort(ABC):
    """A serial port this process serves. Nothing here blocks for longer than it is asked to."""

    name: str  # what a reader opens: /dev/pts/5, or socket://127.0.0.1:50123
    link: Path | None = None  # the symlink to the pty's device, while there is one

    def __init__(self) -> None:
        self.readers: list[Reader] = []
        self.dropped_bytes = 0  # what went to nobody, or to a reader that was not reading

    # ---- What each transport does -----------------------------------------------------------

    @abstractmethod
    def _look(self) -> None:
        """Bring `readers` up to date: readers that arrived, and (where it shows) readers that left."""

    @abstractmethod
    def _write_some(self, reader: Reader, data: memoryview) -> int:
        """Write what fits now without blocking; the count written (0: none fits). OSError when
        the reader has gone."""

    @abstractmethod
    def _read_some(self, reader: Reader) -> bool:
        """Read (and ignore) what the reader sent; False when it has gone."""

    @abstractmethod
    def _gone(self, reader: Reader) -> None:
        """Forget a reader that left, with what it was owed and what it left unread."""

    @abstractmethod
    def _watched(self) -> list[Any]:
        """What `wait` watches for input; empty when there is nothing to wait on."""

    @abstractmethod
    def _queued(self, reader: Reader) -> int | None:
        """Bytes written that the reader has not taken yet, where known (None: unknown)."""

    @abstractmethod
    def close(self) -> None:
        """Close the port (and remove its link)."""

    # ---- Serving ----------------------------------------------------------------------------

    def has_reader(self) -> bool:
        """Whether a reader has the port open now."""
        self._look()
        return bool(self.readers)

    def send(self, data: bytes, wait_s: float = 0.0, task: Task | None = None) -> str:
        """Write `data` (whole lines) to every reader: SENT when one took some of it (the end of a
        line that did not fit goes out first next time), NO_READER (dropped: nobody has the port
        open) or FULL (dropped: no reader took any of it). A reader that takes nothing is waited
        for up to `wait_s`, unless it is stalled already; `task` is checked meanwhile."""
        self._look()
        if not self.readers:
            self.dropped_bytes += len(data)
            return NO_READER
        taken = False
        for reader in list(self.readers):
            try:
                taken = self._deliver(reader, data, wait_s, task) or taken
            except OSError:  # the reader went away: what it would have read is gone with it
                self._gone(reader)
                self.dropped_bytes += len(data)
        if taken:
            return SENT
        return FULL if self.readers else NO_READER

    def _deliver(self, reader: Reader, data: bytes, wait_s: float, task: Task | None) -> bool:
        """Write the reader's cut line and then `data`; where room runs out, keep the end of the
        line being written and drop the lines after it. True when any of `data` was taken."""
        owed = len(reader.pending)
        data, reader.pending = reader.pending + data, b""
        view = memoryview(data)
        position = 0
        deadline = time.monotonic() + wait_s
        while position < len(data):
            sent = self._write_some(reader, view[position:])
            position += sent
            if sent:
                deadline = time.monotonic() + wait_s
            elif reader.stalled or time.monotonic() >= deadline:
                if wait_s and not reader.stalled:
                    log.info("a reader of %s stopped reading: lines are dropped until it reads again", self.name)
                reader.stalled = True
                break
            else:
                if task is not None:
                    task.check()
                with contextlib.suppress(OSError, ValueError):
                    select.select([], [reader.handle], [], min(POLL_S, max(0.0, deadline - time.monotonic())))
        else:
            reader.stalled = False
            return len(data) > owed
        in_line = data[position - 1 : position] != b"\n" if position else owed > 0
        end = (data.find(b"\n", position) + 1 or len(data)) if in_line else position
        reader.pending = data[position:end]
        self.dropped_bytes += len(data) - end
        return end > owed

    def wait(self, timeout_s: float) -> None:
        """Sleep up to `timeout_s`, meanwhile taking new readers, finishing cut lines and reading
        (and ignoring) what readers send. A reader's input or arrival may end it sooner."""
        self._look()
        watched = self._watched()
        writable = [reader.handle for reader in self.readers if reader.pending]
        try:
            if not watched:
                raise ValueError("nothing to wait on")
            ready, can_write, _ = select.select(watched, writable, [], timeout_s)
        except (OSError, ValueError):
            time.sleep(timeout_s)
            return
        for reader in list(self.readers):
            try:
                if reader.handle in ready and not self._read_some(reader):
                    raise OSError("the reader left")
                if reader.handle in can_write and reader.pending:
                    self._deliver(reader, b"", 0.0, None)
            except OSError:
                self._gone(reader)

    def pause(self, seconds: float, task: Task) -> None:
        """Serve the port (as `wait` does) for `seconds`, looking at cancellation every POLL_S."""
        end = time.monotonic() + seconds
        while True:
            task.check()
            remaining = end - time.monotonic()
            if remaining <= 0:
                return
            self.wait(min(POLL_S, remaining))

    def wait_for_reader(self, task: Task) -> None:
        """Return once a reader has the port open; raises Cancelled."""
        while not self.has_reader():
            task.check()
            self.wait(POLL_S)

    def queued(self) -> int | None:
        """The most any reader has not taken yet of what was written (None: unknown here)."""
        counts = [self._queued(reader) for reader in self.readers]
        if None in counts:
            return None
        return max([count for count in counts if count is not None], default=0)

    def drain(self, task: Task, stall_s: float, linger_s: float) -> None:
        """Serve while the readers keep taking what is queued; return when they have all of it,
        have gone, or took nothing for `stall_s`; then, if one is still there, `linger_s` more
        so that a read under way returns its bytes before the port closes."""
        last = None
        since = time.monotonic()
        zeros = 0
        while self.has_reader():
            queued = self.queued()
            if queued is None:
                break
            zeros = zeros + 1 if queued == 0 and not any(reader.pending for reader in self.readers) else 0
            if zeros >= 2:  # twice, since bytes in flight inside the kernel are not counted
                break
            if queued != last:
                last, since = queued, time.monotonic()
            elif time.monotonic() - since >= stall_s:
                break
            task.check()
            self.wait(POLL_S)
        if self.has_reader():
            self.pause(linger_s, task)


class PtyPort(VirtualPort):
    """A pseudo-terminal. This process keeps only the master side open, so the master reports a
    hang-up exactly while no reader has the other side open."""

    def __init__(self, link: Path | None = None) -> None:
        super().__init__()
        import tty

        self._master, follower = os.openpty()
        self.name = os.ttyname(follower)
        try:
            tty.setraw(follower)  # no echo, no line editing, no CR/LF translation: bytes as they are
        finally:
            os.close(follower)
        os.set_blocking(self._master, False)
        self._poller = select.poll()
        self._poller.register(self._master, select.POLLOUT)
        try:
            if link is not None:
                self.link = make_link(link, self.name)
        except BaseException:
            os.close(self._master)
            raise

    def _hung_up(self) -> bool:
        return any(event & select.POLLHUP for _, event in self._poller.poll(0))

    def _look(self) -> None:
        if self._hung_up():
            for reader in list(self.readers):
                self._gone(reader)
        elif not self.readers:
            self.readers.append(Reader(self._master))

    def _write_some(self, reader: Reader, data: memoryview) -> int:
        if self._hung_up():  # the kernel would keep it for whoever opens the port next
            raise OSError("no reader")
        try:
            return os.write(self._master, data)
        except BlockingIOError:
            return 0

    def _read_some(self, reader: Reader) -> bool:
        try:
            return bool(os.read(self._master, READ_BYTES))  # the sketch reads inputs here; nothing does here
        except BlockingIOError:
            return True
        except OSError:  # EIO: the last reader closed the device
            return False

    def _gone(self, reader: Reader) -> None:
        """Throws away what the reader left unread, too. Flushing from the master side does not
        reach it once the device is closed, so the device is opened for a moment and flushed."""
        import termios

        self.readers.remove(reader)
        with contextlib.suppress(OSError):
            device = os.open(self.name, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
            try:
                termios.tcflush(device, termios.TCIFLUSH)
            finally:
                os.close(device)

    def _watched(self) -> list[Any]:
        # No reader: a hung-up master is ready at once, so there is nothing to wait on.
        return [self._master] if self.readers else []

    def _queued(self, reader: Reader) -> int | None:
        """What waits in the reader's input queue (the kernel holds up to a few KiB more in
        flight, which is why drain() wants two zeros)."""
        import fcntl
        import termios

        count = bytearray(4)
        try:
            probe = os.open(self.name, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError:
            return None
        try:
            fcntl.ioctl(probe, termios.FIONREAD, count)
        except OSError:
            return None
        finally:
            os.close(probe)
        return int(struct.unpack("i", count)[0])

    def close(self) -> None:
        if self.link is not None:
            remove_link(self.link, self.name)
            self.link = None
        self.readers.clear()
        with contextlib.suppress(OSError):
            os.close(self._master)


class SocketPort(VirtualPort):
    """A TCP server on 127.0.0.1 that pyserial opens as `socket://127.0.0.1:PORT` (Windows has no
    pseudo-terminals). Every connected client gets every line; none connected means dropped lines."""

    def __init__(self, port: int = 0) -> None:
        super().__init__()
        try:
            self._server = socket.create_server(("127.0.0.1", port))
        except OSError as error:
            raise WorkbenchError(
                f"port {port} on 127.0.0.1 cannot be served ({error.strerror or error})",
                "Choose another port, or 0 for any free one.",
            ) from None
        self._server.setblocking(False)
        self.name = f"socket://127.0.0.1:{self._server.getsockname()[1]}"

    def _look(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:  # none waiting (BlockingIOError) or a failed one
                return
            client.setblocking(False)
            self.readers.append(Reader(client))

    def _write_some(self, reader: Reader, data: memoryview) -> int:
        try:
            return int(reader.handle.send(data))
        except (BlockingIOError, InterruptedError):
            return 0

    def _read_some(self, reader: Reader) -> bool:
        try:
            return bool(reader.handle.recv(READ_BYTES))  # b"": the client closed the connection
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False

    def _gone(self, reader: Reader) -> None:
        self.readers.remove(reader)
        with contextlib.suppress(OSError):
            reader.handle.close()

    def _watched(self) -> list[Any]:
        return [self._server, *(reader.handle for reader in self.readers)]

    def _queued(self, reader: Reader) -> int | None:
        """What the client's end has not acknowledged yet (Linux; elsewhere unknown). What it
        acknowledged may still wait in its own buffer: close() lets it read that, then ends."""
        try:
            import fcntl
            import termios

            request = termios.TIOCOUTQ  # SIOCOUTQ, for a socket
        except (ImportError, AttributeError):
            return None
        count = bytearray(4)
        try:
            fcntl.ioctl(reader.handle.fileno(), request, count)
        except OSError:
            return None
        return int(struct.unpack("i", count)[0])

    def close(self) -> None:
        for reader in list(self.readers):
            with contextlib.suppress(OSError):
                reader.handle.shutdown(socket.SHUT_WR)  # the client gets what was sent, then the end
            self._gone(reader)
        with contextlib.suppress(OSError):
            self._server.close()


def make_link(link: Path, target: str) -> Path:
    """A symlink at `link` to the device `target`, put in place in one step (rename), replacing an
    earlier link (left by a board or replay that was killed); a file or folder at `link` is never
    replaced."""
    link = Path(os.path.abspath(link.expanduser()))
    if link.exists() and not link.is_symlink():
        raise WorkbenchError(
            f"{link}: is a file or folder, not a link; it is not replaced",
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
    """Removes `link` if it still leads to `target` (another port may have taken the path since)."""
    with contextlib.suppress(OSError):
        if os.readlink(link) == target:
            link.unlink()


def has_ptys() -> bool:
    """Whether this system has pseudo-terminals (Windows has none)."""
    return hasattr(os, "openpty") and os.name == "posix"


def open_port(transport: str | None = None, link: Path | None = None, port: int = 0) -> VirtualPort:
    """The port to serve: "pty" (None too; where the system has no pseudo-terminals, the socket
    instead) or "socket" (127.0.0.1:`port`, any free one when 0). A link needs a pty."""
    transport = transport or PTY
    if transport not in TRANSPORTS:
        raise WorkbenchError(f"unknown transport '{transport}' (choose {' or '.join(TRANSPORTS)})")
    if transport == PTY and not has_ptys():
        if link is not None:
            raise WorkbenchError(
                "this system has no pseudo-terminals to link to",
                "Leave out the link: the port is then served as a socket:// URL, which the Monitor opens.",
            )
        log.info("no pseudo-terminals here: serving the port as a socket")
        transport = SOCKET
    if transport == SOCKET:
        if link is not None:
            raise WorkbenchError(
                "a link needs a pseudo-terminal; a socket is reached at its socket:// URL",
                "Leave out the link, or serve a pty.",
            )
        return SocketPort(port)
    try:
        return PtyPort(link)
    except OSError as error:
        raise WorkbenchError(f"a pseudo-terminal cannot be opened ({error.strerror or error})") from None
