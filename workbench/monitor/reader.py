"""Opening a serial port, and the thread that reads it, through unplugs and replugs.

`open_port` opens a device path (`/dev/ttyACM0`, `COM3`) or any pyserial URL (`loop://`,
`socket://host:port`, `rfc2217://host:port`) and turns pyserial's failures into one sentence
each: no such port, busy, permission denied, a baud rate the port refuses.

`PortReader` is the I/O thread of the monitor: it reads whatever is waiting, a chunk at a time,
and puts `(time, bytes)` on a bounded queue. When the queue is full it waits (the kernel's buffer
and then the board wait with it): nothing is dropped. When the port goes away (a read raises),
it puts `(time, None)` - a gap - and waits for the port to come back: a device path is polled
every POLL_S and reopened once it exists again (a new device node behind the same path or
symlink is fine); a URL is simply retried. Once reopened it puts `(time, b"")`: the port opened
again at that time (the stream judges the first line after it by that).

A device tells how many bytes wait (`in_waiting`) and one read takes them. pyserial's socket://
port says only 0 or 1, so a URL port is read in blocks of URL_READ_BYTES, each read gathering
what comes for URL_READ_TIMEOUT_S (or until the block is full): a socket stream arrives in large
chunks, not a byte a read.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import queue
import sys
import threading
from collections.abc import Callable

import serial

from workbench.core.errors import WorkbenchError

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 0.05  # how long one read waits for a first byte: bounds how late stop() is noticed
URL_READ_TIMEOUT_S = 0.02  # a URL port's read: how long it gathers bytes (the latency it adds)
URL_READ_BYTES = 65536  # a URL port's read: at most this many bytes
POLL_S = 0.1  # how often a vanished port is looked for
STOP_JOIN_S = 5.0  # how long stop() waits for a thread; one stuck in a driver's read is left behind
QUEUE_CHUNKS = 256  # chunks between the reader and the processor (a pty delivers at most 4 KiB a chunk)

LINUX_GROUP_HINT = "add yourself to the dialout (or uucp) group: sudo usermod -aG dialout $USER, then log in again"

Chunk = tuple[float, bytes | None]
"""What the reader hands on: (arrival time in seconds, the bytes), (time, None) for a disconnect,
or (time, b"") when the port opened again after one."""


def is_url(port: str) -> bool:
    """Whether `port` is a pyserial URL (`loop://`, `socket://...`) rather than a device."""
    return "://" in port


def open_port(port: str, baud: int) -> serial.SerialBase:
    """The port `port` opened at `baud`, for exclusive use where the system allows it.

    Raises WorkbenchError with one sentence for a port that does not exist, one another program
    holds, one the user may not open, a baud rate the port refuses, or any other failure.
    """
    timeout = URL_READ_TIMEOUT_S if is_url(port) else READ_TIMEOUT_S
    try:
        return serial.serial_for_url(port, baud, timeout=timeout, exclusive=True)
    except (serial.SerialException, OSError, ValueError) as error:
        raise port_error(port, baud, error) from error


def port_error(port: str, baud: int, error: BaseException) -> WorkbenchError:
    """The one-sentence WorkbenchError for pyserial's `error` on opening `port`."""
    text = str(error)
    lowered = text.lower()
    code = getattr(error, "errno", None)
    if "baud" in lowered:
        return WorkbenchError(
            f"{port} does not accept the baud rate {baud}",
            "Use the rate the sketch passes to Serial.begin(), such as 115200.",
            text,
        )
    if isinstance(error, ValueError) and "protocol" in lowered:
        return WorkbenchError(
            f"{port} is not a port address pyserial knows",
            "Use a device (/dev/ttyACM0, COM3) or a URL such as loop://, socket://host:port or rfc2217://host:port.",
            text,
        )
    if code in (errno.EACCES, errno.EPERM) or (sys.platform != "win32" and "permission denied" in lowered):
        hint = LINUX_GROUP_HINT if sys.platform.startswith("linux") else "Ask for access to the serial port."
        return WorkbenchError(f"no permission to open {port}", hint, text)
    if (
        code in (errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK)
        or "exclusively lock" in lowered
        or "access is denied" in lowered  # Windows says this for a port another program holds
    ):
        return WorkbenchError(
            f"{port} is busy: another program has it open",
            "Close the other serial monitor (Arduino IDE, screen, another Workbench window) and try again.",
            text,
        )
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO) or "filenotfound" in lowered or "cannot find" in lowered:
        return WorkbenchError(f"{port}: no such port", _ports_hint(), text)
    if is_url(port):
        reason = text.split(": ", 1)[-1] if ": " in text else text
        return WorkbenchError(f"could not connect to {port} ({_reason(reason)})", "", text)
    return WorkbenchError(f"could not open {port} ({_reason(text)})", "", text)


def _reason(text: str) -> str:
    """A library message as a short clause: `[Errno 111] Connection refused` -> `connection refused`."""
    text = text.strip().splitlines()[0] if text.strip() else "unknown error"
    if text.startswith("[Errno") and "] " in text:
        text = text.split("] ", 1)[1]
    return text[:1].lower() + text[1:]


def _ports_hint() -> str:
    """Which serial ports the system lists now, for a port that is not there."""
    try:
        from serial.tools import list_ports

        ports = sorted(info.device for info in list_ports.comports())
    except Exception:  # noqa: BLE001 - a hint must never fail the error it explains
        ports = []
    if not ports:
        return "No serial port is present now: is the board plugged in?"
    return f"Ports present now: {', '.join(ports)}."


class PortReader:
    """The reader thread: chunks of `port` on `chunks`, gaps at disconnects, reopening after them.

    Counters (`bytes_read`, `reconnects`) and state (`connected`, `message`) are written by the
    thread and safe to read from any other.
    """

    def __init__(
        self,
        port_name: str,
        baud: int,
        opened: serial.SerialBase,
        chunks: queue.Queue[Chunk],
        clock: Callable[[], float],
        *,
        poll_s: float = POLL_S,
    ) -> None:
        self.port_name = port_name
        self.baud = baud
        self.chunks = chunks
        self.clock = clock
        self.poll_s = poll_s
        self.bytes_read = 0
        self.reconnects = 0
        self.connected = True
        self.message = ""
        self._port: serial.SerialBase | None = opened
        self.abandoned = threading.Event()  # set when nothing consumes the chunks any more
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"monitor-reader {port_name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop reading and close the port; returns once the thread has ended (every chunk it read is
        queued), or after STOP_JOIN_S when a read is stuck in the driver."""
        self._stopping.set()
        port = self._port
        if port is not None:
            with contextlib.suppress(Exception):  # not every port type can cancel a read
                port.cancel_read()
        if self._thread.is_alive():
            self._thread.join(STOP_JOIN_S)
            if self._thread.is_alive():
                log.warning(
                    "the reader of %s did not end within %g s (a read stuck in the driver)", self.port_name, STOP_JOIN_S
                )
        self._close()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        url = is_url(self.port_name)
        try:
            while not self._stopping.is_set():
                port = self._port
                if port is None:
                    if not self._reopen():
                        break
                    self._put((self.clock(), b""))
                    continue
                try:
                    data = port.read(URL_READ_BYTES if url else max(1, port.in_waiting))
                except (serial.SerialException, OSError, TypeError, AttributeError) as error:
                    # TypeError/AttributeError: pyserial's socket port after its socket was closed under it.
                    if self._stopping.is_set():
                        break
                    self._lost(str(error))
                    continue
                if data:
                    self.bytes_read += len(data)
                    self._put((self.clock(), data))
                elif not url and os.name == "posix" and not os.path.exists(self.port_name):
                    self._lost("the device is gone")  # some drivers read nothing instead of failing
        except Exception as error:  # a port type failing in a way pyserial does not name: say so, end
            log.exception("reading %s failed", self.port_name)
            self.connected = False
            self.message = f"reading {self.port_name} failed: {error}"
        finally:
            self._close()

    def _lost(self, reason: str) -> None:
        """The port went away: close it, hand on a gap, and say we are waiting for it."""
        log.info("lost %s: %s", self.port_name, reason)
        self._close()
        self.connected = False
        self.message = f"reconnecting to {self.port_name}…"
        self._put((self.clock(), None))

    def _reopen(self) -> bool:
        """Wait for the port to come back and open it; False when stopped first."""
        while not self._stopping.is_set():
            if is_url(self.port_name) or os.name != "posix" or os.path.exists(self.port_name):
                try:
                    self._port = open_port(self.port_name, self.baud)
                except WorkbenchError as error:  # not ready yet (permissions being set, still busy): retry
                    log.debug("reopening %s: %s", self.port_name, error.details or error.message)
                else:
                    self.reconnects += 1
                    self.connected = True
                    self.message = ""
                    log.info("reconnected to %s", self.port_name)
                    return True
            self._stopping.wait(self.poll_s)
        return False

    def _put(self, chunk: Chunk) -> None:
        """Queue `chunk`, waiting while the queue is full: the processor drains it until we end."""
        while not self.abandoned.is_set():
            try:
                self.chunks.put(chunk, timeout=0.5)
                return
            except queue.Full:
                continue

    def _close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(Exception):
                port.close()
