"""replay(recording): serve a recording as a serial port, at its own pace or faster.

The port is a pseudo-terminal (its path, and a symlink at `link` when given, replacing an earlier
link), or - with transport="socket", and always on Windows, which has no ptys - a TCP server on
127.0.0.1 that pyserial and the Monitor open as `socket://127.0.0.1:PORT`. `on_ready` gets the
name to open (the CLI prints it).

What it prints, in the Arduino plotter format (plugins/parsers/arduino.py reads it):
- a record's values as one line `name:value name:value` (spaces, tabs and commas in a name become
  `_`, as the exported sketch prints labels; values in full precision, `nan`/`inf` as Python
  spells them);
- each event as its own line in TFLM micro_speech's format, `Heard yes (201) @4800ms`, which
  plugins/parsers/events.py reads: the score and the board's time in ms are the record's `score`
  and `device_time_ms` values (the names that parser gives them), left out when it has none, so
  a recording of a micro_speech board replays as it printed; a label's spaces, parentheses,
  `<>`, `@` and `:` become `_`;
- nothing for a gap (a `disconnected` row): the silence until the next record is the gap.

Playing starts once a reader has the port open, so it gets the whole recording (after SETTLE_S:
pyserial flushes its input when it opens a port), and runs at the recorded times divided by
`speed` (0 or inf: as fast as the reader takes it), until the end or until `task` is cancelled
(Cancelled is raised). Lines due together go out in writes of about CHUNK_BYTES.

Writes never wait long: a reader that takes nothing for WRITE_WAIT_S is stalled, and the lines
that do not fit in the port's buffer are dropped (never cut in the middle) until it reads again.
A reader that closes the port misses what is printed until it opens it again. At the end the
replay waits while the reader keeps taking what is queued (DRAIN_STALL_S without progress ends
the wait), lingers LINGER_S so a read under way returns its bytes, then closes the port and
removes the link.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import re
import select
import socket
import struct
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from itertools import chain
from pathlib import Path
from types import TracebackType

from workbench.core.errors import WorkbenchError
from workbench.monitor.parse import Record
from workbench.monitor.recorder import GAP_EVENT, iter_recording
from workbench.tasks import Task, null_task

log = logging.getLogger(__name__)

PTY, SOCKET = "pty", "socket"
TRANSPORTS = (PTY, SOCKET)
POLL_S = 0.05  # how often waits look at the reader and at cancellation
SETTLE_S = 0.2  # after a reader opens the port, before the first line: pyserial flushes input on open
WRITE_WAIT_S = 1.0  # a full port waits this long for the reader before lines are dropped
DRAIN_STALL_S = 1.0  # at the end: a reader that takes nothing for this long is not waited for
LINGER_S = 0.1  # at the end, once the reader has it all: its read call returns before the port closes
CHECK_EVERY = 256  # records between cancellation checks when playing as fast as possible
CHUNK_BYTES = 4096  # lines that are due together go out in writes of about this size

_SEPARATORS = re.compile(r"[ \t,\r\n]")
_EVENT_LABEL_BREAKS = re.compile(r"[\s()<>@:]")  # what ends a label in an event line
SCORE, DEVICE_TIME_MS = "score", "device_time_ms"  # the values an event line carries


def default_transport() -> str:
    """A pty where the platform has them, else the socket."""
    return PTY if hasattr(os, "openpty") and os.name == "posix" else SOCKET


@functools.lru_cache(maxsize=4096)
def plotter_label(name: str) -> str:
    """A channel name as a plotter label: separators made `_` (as the exported sketch prints labels)."""
    return _SEPARATORS.sub("_", name) or "_"


def event_line(label: str, score: float | None = None, device_time_ms: float | None = None) -> str:
    """An event as TFLM's micro_speech prints a command it heard, `Heard yes (201) @4800ms`, with
    the score and the board's time when known (plugins/parsers/events.py reads them back)."""
    line = f"Heard {_EVENT_LABEL_BREAKS.sub('_', label) or '_'}"
    if score is not None:
        line += f" ({score!r})"
    if device_time_ms is not None:
        line += f" @{int(device_time_ms)}ms"
    return line


def _event_values(values: dict[str, float]) -> tuple[float | None, float | None]:
    """The score and board time an event line can carry exactly (the events parser's names)."""
    score = values.get(SCORE)
    device_time_ms = values.get(DEVICE_TIME_MS)
    if score is not None and not math.isfinite(score):
        score = None
    if device_time_ms is not None and not (device_time_ms >= 0 and float(device_time_ms).is_integer()):
        device_time_ms = None
    return score, device_time_ms


def record_lines(record: Record) -> str:
    """The text a record is replayed as (lines ended by "\\n"); "" for a gap. Its first event's
    line carries `score` and `device_time_ms` (as the events parser names what it reads), and the
    other values go on a plotter line before it."""
    if not record.values and record.events == (GAP_EVENT,):
        return ""
    values = record.values
    score = device_time_ms = None
    if record.events:
        score, device_time_ms = _event_values(values)
        if score is not None or device_time_ms is not None:
            carried = {SCORE} if score is not None else set()
            carried |= {DEVICE_TIME_MS} if device_time_ms is not None else set()
            values = {name: value for name, value in values.items() if name not in carried}
    lines = []
    if values:
        lines.append(" ".join([f"{plotter_label(name)}:{float(value)!r}" for name, value in values.items()]))
    for index, event in enumerate(record.events):
        lines.append(event_line(event, score, device_time_ms) if index == 0 else event_line(event))
    return "".join(line + "\n" for line in lines)


# ---- Ports this process serves ---------------------------------------------------------------


class ReplayPort(ABC):
    """A port the replay serves to one reader: wait for it, write to it without blocking for long,
    let it take what is queued at the end."""

    name: str  # what a reader opens: /dev/pts/5 (or the link), or socket://127.0.0.1:50123

    def __init__(self) -> None:
        self.dropped_bytes = 0
        self._stalled = False
        self._pending = b""  # the end of a line begun, written before anything else

    @abstractmethod
    def has_reader(self) -> bool:
        """Whether a reader has the port open now."""

    @abstractmethod
    def _send(self, data: memoryview) -> int:
        """Write what fits now without blocking; the count written (BlockingIOError when none fits)."""

    @abstractmethod
    def _writable(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for room to write."""

    @abstractmethod
    def queued(self) -> int | None:
        """Bytes written that the reader has not taken yet, where known (None: unknown)."""

    @abstractmethod
    def close(self) -> None:
        """Close the port (and remove its link)."""

    def wait_for_reader(self, task: Task) -> None:
        """Return once a reader has the port open (and SETTLE_S later); raises Cancelled."""
        while not self.has_reader():
            task.check()
            time.sleep(POLL_S)
        _sleep(SETTLE_S, task)

    def write(self, data: bytes, task: Task) -> bool:
        """Write `data` (whole lines); False when some was dropped: no reader, or one that took
        nothing for WRITE_WAIT_S. A line is never cut: a line partly written is finished first."""
        in_line = bool(self._pending)  # whether `position` is inside a line already begun
        if self._pending:
            data, self._pending = self._pending + data, b""
        position = 0
        deadline = time.monotonic() + WRITE_WAIT_S
        while position < len(data):
            try:
                sent = self._send(memoryview(data)[position:])
            except BlockingIOError:
                sent = 0
            except OSError:  # no reader: what it would have read is gone with it
                self.dropped_bytes += len(data) - position
                return False
            position += sent
            if position == len(data):
                self._stalled = False
                return True
            if sent:
                deadline = time.monotonic() + WRITE_WAIT_S
            elif self._stalled or time.monotonic() >= deadline:
                if not self._stalled:
                    log.info("the reader of %s stopped reading: lines are dropped until it reads again", self.name)
                self._stalled = True
                break
            task.check()
            self._writable(min(POLL_S, max(0.0, deadline - time.monotonic())))
        if position:
            in_line = data[position - 1 : position] != b"\n"
        if in_line:  # keep the end of the line begun, for the next write
            end = data.find(b"\n", position) + 1 or len(data)
            self._pending, position = data[position:end], end
        self.dropped_bytes += len(data) - position
        return False

    def drain(self, task: Task) -> None:
        """Wait while the reader keeps taking what is queued; return when it has all of it, has
        gone, or took nothing for DRAIN_STALL_S."""
        last = None
        since = time.monotonic()
        zeros = 0
        while self.has_reader():
            if self._pending:  # the end of a line cut by a stall goes out as room appears
                self.write(b"", task)
            queued = self.queued()
            if queued is None:
                break
            zeros = zeros + 1 if queued == 0 and not self._pending else 0
            if zeros >= 2:  # twice, since bytes in flight inside the kernel are not counted
                break
            if queued != last:
                last, since = queued, time.monotonic()
            elif time.monotonic() - since >= DRAIN_STALL_S:
                break
            task.check()
            time.sleep(POLL_S)
        if self.has_reader():  # a read call under way returns its bytes before the port closes
            _sleep(LINGER_S, task)

    def __enter__(self) -> ReplayPort:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


class PtyReplayPort(ReplayPort):
    """A pseudo-terminal. Only the master side stays open here, so the master reports a hang-up
    exactly while no reader has the other side open."""

    def __init__(self, link: Path | None = None) -> None:
        super().__init__()
        import tty  # POSIX only

        self._master, follower = os.openpty()
        self.device = os.ttyname(follower)
        try:
            tty.setraw(follower)  # no echo, no line editing, no CR/LF translation: bytes as they are
        finally:
            os.close(follower)
        os.set_blocking(self._master, False)
        self._poller = select.poll()
        self._poller.register(self._master, select.POLLOUT)
        self.link: Path | None = None
        try:
            if link is not None:
                self.link = make_link(link, self.device)
        except BaseException:
            os.close(self._master)
            raise
        self.name = str(self.link) if self.link is not None else self.device

    def has_reader(self) -> bool:
        return not any(event & select.POLLHUP for _, event in self._poller.poll(0))

    def _send(self, data: memoryview) -> int:
        if not self.has_reader():  # the kernel would keep it for whoever opens the port next
            raise OSError("no reader")
        return os.write(self._master, data)

    def _writable(self, timeout_s: float) -> bool:
        events = self._poller.poll(round(timeout_s * 1000))
        return any(event & select.POLLOUT for _, event in events)

    def queued(self) -> int | None:
        """What waits in the reader's input queue (the kernel holds up to a few KiB more in
        flight, which is why drain() wants two zeros)."""
        import fcntl
        import termios

        count = bytearray(4)
        try:
            probe = os.open(self.device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
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
            remove_link(self.link, self.device)
            self.link = None
        with contextlib.suppress(OSError):
            os.close(self._master)


class SocketReplayPort(ReplayPort):
    """A TCP server on 127.0.0.1 (`socket://127.0.0.1:PORT` for pyserial). One reader at a time:
    a new connection replaces the one before (which may be a reader that went away unnoticed)."""

    def __init__(self, port: int = 0) -> None:
        super().__init__()
        try:
            self._server = socket.create_server(("127.0.0.1", port))
        except OSError as error:
            raise WorkbenchError(
                f"Cannot serve port {port} on 127.0.0.1: {(error.strerror or str(error)).lower()}.",
                hint="Choose another port, or 0 for any free one.",
            ) from None
        self._server.setblocking(False)
        self.name = f"socket://127.0.0.1:{self._server.getsockname()[1]}"
        self._client: socket.socket | None = None
        self._next_accept = 0.0

    def _accept(self) -> None:
        try:
            client, _ = self._server.accept()
        except OSError:  # none waiting (BlockingIOError) or a failed one
            return
        client.setblocking(False)
        self._drop()
        self._client = client
        self._stalled = False

    def _drop(self) -> None:
        if self._client is not None:
            with contextlib.suppress(OSError):
                self._client.close()
            self._client = None

    def has_reader(self) -> bool:
        now = time.monotonic()
        if self._client is None or now >= self._next_accept:
            self._next_accept = now + POLL_S
            self._accept()
        return self._client is not None

    def _send(self, data: memoryview) -> int:
        if not self.has_reader() or self._client is None:
            raise OSError("no reader")
        try:
            return self._client.send(data)
        except (BlockingIOError, InterruptedError):
            raise BlockingIOError() from None
        except OSError:
            self._drop()
            raise

    def _writable(self, timeout_s: float) -> bool:
        if self._client is None:
            return False
        try:
            _, ready, _ = select.select([], [self._client], [], timeout_s)
        except (OSError, ValueError):
            return False
        return bool(ready)

    def queued(self) -> int | None:
        """What the reader's end has not acknowledged yet (Linux; elsewhere unknown). What it
        acknowledged may still wait in its own buffer: close() lets it read that, then ends."""
        try:
            import fcntl
            import termios

            request = termios.TIOCOUTQ  # SIOCOUTQ, for a socket
        except (ImportError, AttributeError):
            return None
        if self._client is None:
            return 0
        count = bytearray(4)
        try:
            fcntl.ioctl(self._client.fileno(), request, count)
        except OSError:
            return None
        return int(struct.unpack("i", count)[0])

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(OSError):
                self._client.shutdown(socket.SHUT_WR)  # the reader gets what was sent, then the end
            self._drop()
        with contextlib.suppress(OSError):
            self._server.close()


def make_link(link: Path, target: str) -> Path:
    """A symlink at `link` to the device `target`, put in place in one step (a rename), replacing
    an earlier link (one a killed replay left); a file or folder at `link` is never replaced."""
    link = Path(os.path.abspath(link.expanduser()))
    if link.exists() and not link.is_symlink():
        raise WorkbenchError(
            f"Cannot make the link {link}: a file or folder is there.",
            hint="Choose a path where nothing is yet (or where an earlier replay's link is).",
        )
    if not link.parent.is_dir():
        raise WorkbenchError(f"Cannot make the link {link}: there is no folder {link.parent}.")
    temporary = link.with_name(f".{link.name}.{os.getpid()}.{threading.get_ident()}.link")
    try:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        os.symlink(target, temporary)
        os.replace(temporary, link)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise WorkbenchError(f"Cannot make the link {link}: {(error.strerror or str(error)).lower()}.") from None
    return link


def remove_link(link: Path, target: str) -> None:
    """Remove `link` if it still leads to `target` (another replay may have taken the path since)."""
    with contextlib.suppress(OSError):
        if os.readlink(link) == target:
            link.unlink()


def open_replay_port(transport: str | None = None, *, link: Path | None = None, port: int = 0) -> ReplayPort:
    """The port to serve: a pty (with `link`) or a socket on 127.0.0.1 (`port` 0: any free one).
    None means a pty where there are ptys; where there are none (Windows), always the socket."""
    transport = transport or default_transport()
    if transport not in TRANSPORTS:
        raise WorkbenchError(f"Unknown transport {transport!r}: it is 'pty' or 'socket'.")
    if link is not None and (transport == SOCKET or default_transport() != PTY):
        log.warning("a socket has no path to link: %s is not made", link)
    if transport == SOCKET:
        return SocketReplayPort(port)
    if default_transport() != PTY:  # Windows: the socket is the port there
        log.info("no pseudo-terminals here: serving a socket instead")
        return SocketReplayPort(port)
    return PtyReplayPort(link)


# ---- Playing ------------------------------------------------------------------------------------


def _sleep(seconds: float, task: Task) -> None:
    """Sleep, looking at cancellation every POLL_S."""
    end = time.monotonic() + seconds
    while True:
        task.check()
        remaining = end - time.monotonic()
        if remaining <= 0:
            return
        time.sleep(min(POLL_S, remaining))


def replay(
    recording: Path,
    *,
    speed: float = 1.0,
    link: Path | None = None,
    task: Task | None = None,
    transport: str | None = None,
    port: int = 0,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve `recording` as a serial port until its end (see the module docstring).

    `speed`: 1 plays at the recorded pace, 2 twice as fast, 0 (or inf) as fast as the reader
    takes it. `on_ready` gets the port's name once it can be opened (None: it is printed).
    Raises WorkbenchError (one sentence) for a recording that cannot be read or a port that
    cannot be made, and Cancelled when `task` is cancelled.
    """
    task = task or null_task()
    if math.isnan(speed) or speed < 0:
        raise WorkbenchError(f"The replay speed must be 0 (as fast as possible) or more, not {speed:g}.")
    paced = 0 < speed < math.inf
    records = iter_recording(recording)
    first = next(records, None)  # a file that is not a recording fails here, before any port
    with open_replay_port(transport, link=link, port=port) as served:
        if on_ready is not None:
            on_ready(served.name)
        else:
            print(f"Replaying {recording} on {served.name}", flush=True)
        served.wait_for_reader(task)
        if first is not None:
            _play(served, chain([first], records), first.time, speed if paced else 0.0, task)
        served.drain(task)
        if served.dropped_bytes:
            log.info("replay of %s: %d bytes dropped (no reader, or one not reading)", recording, served.dropped_bytes)


def _play(served: ReplayPort, records: Iterator[Record], start_time: float, speed: float, task: Task) -> None:
    """Write each record when it is due: (its time - start_time) / speed after the start; with
    speed 0, at once. Lines already due go out together, up to CHUNK_BYTES a write."""
    started = time.monotonic()
    chunk: list[str] = []
    size = 0
    for index, record in enumerate(records):
        if speed:
            due = started + (record.time - start_time) / speed
            if due > time.monotonic():
                if chunk:
                    served.write("".join(chunk).encode("utf-8"), task)
                    chunk, size = [], 0
                _sleep(due - time.monotonic(), task)
        elif index % CHECK_EVERY == 0:
            task.check()
        text = record_lines(record)
        chunk.append(text)
        size += len(text)
        if size >= CHUNK_BYTES:
            served.write("".join(chunk).encode("utf-8"), task)
            chunk, size = [], 0
    if chunk:
        served.write("".join(chunk).encode("utf-8"), task)
