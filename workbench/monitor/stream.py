"""The monitor's stream: a serial port read, split into lines, parsed, buffered and recorded.

Two threads and a bounded queue between them (see workbench/monitor/reader.py for the first):

    PortReader (I/O) --(time, bytes) chunks--> processor: LineSplitter -> Parser -> SampleBuffer, CsvRecorder

The processor takes every chunk waiting at once, turns it into lines, parses them and hands the
records on in one batch per round (one `SampleBuffer.append`, one `CsvRecorder.write`): the work
per line stays a parser call. Nothing is dropped: a full queue makes the reader wait (and with it
the kernel and the board), and a line that gives no record is counted.

- The parser is detected from the first DETECT_LINES non-empty lines or DETECT_S seconds,
  whichever comes first (`workbench.monitor.parse.detect`); the lines seen meanwhile are held and
  parsed once it is chosen. If no parser recognises them, detection is tried again as lines arrive;
  at most HOLD_LINES lines wait, the oldest going first.
- Lines before the first record are boot text, not malformed; after it, a line that is not blank
  and gives no record is malformed, as is a line cut by a disconnect, by stopping, or for length,
  and a line no parser recognised (dropped from the held lines, or held when the session ends).
- A disconnect marks a gap in the buffer (`SampleBuffer.mark_gap`) and the recording
  (`CsvRecorder.gap`); the reader reopens the port when it comes back and counts the reconnect.
- Times are seconds since `start()`, taken when a chunk arrives (the lines of one chunk share it).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.errors import WorkbenchError
from workbench.monitor.buffer import SampleBuffer
from workbench.monitor.lines import LineSplitter
from workbench.monitor.parse import Parser, Record, detect
from workbench.monitor.reader import QUEUE_CHUNKS, Chunk, PortReader, open_port
from workbench.monitor.recorder import CsvRecorder
from workbench.tasks import Task

log = logging.getLogger(__name__)

AUTO = "auto"
DETECT_LINES = 20
DETECT_S = 1.0
DETECT_RETRY_S = 0.25  # how often detection is tried again while no parser recognises the lines
HOLD_LINES = 5000  # lines held while no parser is chosen
RECENT_RECORDS = 2000  # records kept for recent()
RATE_WINDOW_S = 1.0  # lines_per_s and records_per_s are measured over about this long
BATCH_CHUNKS = 64  # chunks taken from the queue in one round
IDLE_S = 0.1  # how long the processor waits for a chunk before looking at the clock
SINK_BATCHES = 256  # record batches waiting for run_monitor's caller before the processor waits for it


@dataclass
class StreamStats:
    """A snapshot of a stream, safe to read from any thread."""

    lines: int = 0
    records: int = 0
    malformed: int = 0
    reconnects: int = 0
    bytes: int = 0
    lines_per_s: float = 0.0
    records_per_s: float = 0.0
    parser: str = ""  # the parser in use; "" while detecting
    channels: list[str] = field(default_factory=list)
    connected: bool = False
    port: str = ""
    message: str = ""  # "reconnecting to /dev/ttyACM0…", "detecting the format…"
    recording: str = ""  # the recording's path; "" when not recording
    recording_bytes: int = 0
    duration_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Every field, as the `monitor --json` summary prints them."""
        return asdict(self)


def _feed_lines(parser: Parser, lines: list[str], time: float, out: list[Record]) -> int:
    """Parse `lines` (all arrived at `time`) into `out`; how many non-blank lines gave no record.

    A parser may offer `feed_lines(lines, time) -> (records, lines without records)` to parse a
    batch at once; otherwise it is fed line by line. A parser that raises on a line gives none.
    """
    bulk = getattr(parser, "feed_lines", None)
    if bulk is not None:
        try:
            records, malformed = bulk(lines, time)
        except Exception:  # noqa: BLE001 - plugin code: fall back to one line at a time
            log.warning("parser %r failed on a batch of lines", parser.name, exc_info=True)
        else:
            out += records
            return int(malformed)
    feed = parser.feed
    malformed = 0
    for line in lines:
        try:
            records = feed(line, time)
        except Exception:  # noqa: BLE001 - plugin code: one bad line must not stop the stream
            log.debug("parser %r failed on %r", parser.name, line, exc_info=True)
            records = []
        if records:
            out += records
        elif line and not line.isspace():
            malformed += 1
    return malformed


class MonitorStream:
    """A port read into `buffer` (and a recording) by two threads; see the module docstring."""

    def __init__(
        self,
        port: str,
        baud: int = 115200,
        *,
        parser: str = AUTO,
        record: Path | None = None,
        capacity: int = 1_000_000,
        parsers: Sequence[Parser] | None = None,
    ) -> None:
        self.port = port
        self.baud = baud
        self.buffer = SampleBuffer(capacity)
        self.paused = False
        if parsers is None:
            from workbench.plugins import discover

            catalog = discover(kinds=("parser",))
            parsers = catalog.parsers()
            self._parser = None if parser == AUTO else catalog.parser(parser)
        else:
            self._parser = None if parser == AUTO else _named(parsers, parser)
        self._parsers = list(parsers)
        self._record_path = record
        self._lock = threading.Lock()  # counters, recent records, recorder
        self._chunks: queue.Queue[Chunk] = queue.Queue(maxsize=QUEUE_CHUNKS)
        self._splitter = LineSplitter()
        self._reader: PortReader | None = None
        self._processor: threading.Thread | None = None
        self._stopping = threading.Event()  # stop() was called: nothing waits for run_monitor's caller now
        self._finish = threading.Event()  # the reader has ended: the processor ends once the queue is empty
        self._recorder: CsvRecorder | None = None
        self._recorded: CsvRecorder | None = None  # the last recording, for the summary once stopped
        self._recent: deque[Record] = deque(maxlen=RECENT_RECORDS)
        self._sink: _Handoff | None = None  # run_monitor's feed of records
        self._t0 = 0.0
        self._ended_at: float | None = None
        self._lines = 0
        self._records = 0
        self._malformed = 0
        self._seen_record = False
        self._held: deque[tuple[float, str]] = deque()
        self._held_since: float | None = None  # when the first non-blank held line arrived
        self._held_nonblank = 0
        self._detect_tried_at: float | None = None
        self._message = "" if self._parser is not None else "detecting the format…"
        self._failure = ""
        self._rates: deque[tuple[float, int, int]] = deque(maxlen=int(RATE_WINDOW_S / 0.25) + 1)

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Open the port (and the recording) and start reading; raises WorkbenchError, one sentence."""
        if self._processor is not None:
            raise RuntimeError("a MonitorStream starts once")
        opened = open_port(self.port, self.baud)
        if self._record_path is not None:
            try:
                self._recorder = CsvRecorder(self._record_path)
            except BaseException:
                with contextlib.suppress(Exception):
                    opened.close()
                raise
        self._t0 = time.perf_counter()
        self._reader = PortReader(self.port, self.baud, opened, self._chunks, self._clock)
        self._processor = threading.Thread(target=self._process, name=f"monitor {self.port}", daemon=True)
        self._processor.start()
        self._reader.start()

    def stop(self) -> None:
        """Stop reading, process what was read, close the port and the recording. Safe to call twice."""
        self._stopping.set()
        if self._sink is not None:
            self._sink.unbind()  # the processor must not wait for run_monitor's caller, who waits for it
        if self._reader is not None:
            self._reader.stop()
        self._finish.set()
        if self._processor is not None and self._processor.is_alive():
            self._processor.join()
        if self._ended_at is None and self._processor is not None:
            self._ended_at = self._clock()
        self.stop_recording()

    @property
    def running(self) -> bool:
        return self._processor is not None and self._processor.is_alive() and not self._stopping.is_set()

    def _clock(self) -> float:
        return time.perf_counter() - self._t0

    # -- what the page and the CLI read -------------------------------------------------------

    def stats(self) -> StreamStats:
        """Counters, rates and state now."""
        reader = self._reader
        now = self._ended_at if self._ended_at is not None else (self._clock() if self._processor else 0.0)
        with self._lock:
            lines, records = self._lines, self._records
            malformed = self._malformed + self._splitter.cut_lines
            rates = list(self._rates)
            recorder = self._recorder if self._ended_at is None else self._recorder or self._recorded
            parser = self._parser.name if self._parser is not None else ""
            message = self._failure or (reader.message if reader is not None and reader.message else self._message)
        if self._ended_at is not None or not rates:
            span, lines_before, records_before = now, 0, 0
        else:
            start, lines_before, records_before = rates[0]
            span = now - start
        per_s = 1.0 / span if span > 0 else 0.0
        return StreamStats(
            lines=lines,
            records=records,
            malformed=malformed,
            reconnects=reader.reconnects if reader is not None else 0,
            bytes=reader.bytes_read if reader is not None else 0,
            lines_per_s=(lines - lines_before) * per_s,
            records_per_s=(records - records_before) * per_s,
            parser=parser,
            channels=list(self.buffer.channels),
            connected=self.running and reader is not None and reader.connected,
            port=self.port,
            message=message,
            recording=str(recorder.path) if recorder is not None else "",
            recording_bytes=recorder.bytes_written if recorder is not None else 0,
            duration_s=now,
        )

    def recent(self, n: int = 200) -> list[Record]:
        """The last `n` records (at most RECENT_RECORDS), oldest first."""
        with self._lock:
            if n >= len(self._recent):
                return list(self._recent)
            return list(itertools.islice(self._recent, len(self._recent) - n, None))

    def clear(self) -> None:
        """Empty the buffer and the recent records; the recording goes on."""
        with self._lock:
            self._recent.clear()
        self.buffer.clear()

    def start_recording(self, path: Path) -> None:
        """Record from now on to `path` (a recording in progress ends); raises WorkbenchError, one
        sentence, for a path that cannot be written - the stream and any recording go on then."""
        recorder = CsvRecorder(path)
        with self._lock:
            previous, self._recorder = self._recorder, recorder
        if previous is not None:
            _close_quietly(previous)

    def stop_recording(self) -> None:
        """End the recording (flushed and closed); the stream goes on."""
        with self._lock:
            recorder, self._recorder = self._recorder, None
            if recorder is not None:
                self._recorded = recorder
        if recorder is not None:
            _close_quietly(recorder)

    # -- the processor thread -----------------------------------------------------------------

    def _process(self) -> None:
        chunks = self._chunks
        try:
            while True:
                try:
                    batch = [chunks.get(timeout=IDLE_S)]
                except queue.Empty:
                    if self._finish.is_set():
                        break
                    self._idle()
                    continue
                with contextlib.suppress(queue.Empty):
                    for _ in range(BATCH_CHUNKS - 1):
                        batch.append(chunks.get_nowait())
                self._take(batch)
            self._end()
        except Exception as error:  # a bug here must not leave the reader waiting on a full queue
            log.exception("the monitor's processor failed")
            self._failure = f"the monitor stopped: {error}"
            if self._reader is not None:
                self._reader.abandoned.set()

    def _take(self, batch: list[Chunk]) -> None:
        """Lines, records and gaps from a batch of chunks, handed on in order."""
        out: list[Record] = []
        lines_count = malformed = 0
        split = self._splitter.feed
        for arrived, data in batch:
            if data is None:
                self._deliver(out, lines_count, malformed)
                out, lines_count, malformed = [], 0, 0
                self._gap(arrived)
                continue
            lines = split(data)
            if not lines:
                continue
            lines_count += len(lines)
            parser = self._parser
            if parser is not None and self._seen_record:
                malformed += _feed_lines(parser, lines, arrived, out)
            else:
                malformed += self._first_lines(lines, arrived, out)
        self._deliver(out, lines_count, malformed)
        self._sample_rate(batch[-1][0])

    def _first_lines(self, lines: list[str], arrived: float, out: list[Record]) -> int:
        """Lines before the first record: held while detecting, then parsed; boot text is not malformed."""
        if self._parser is None:
            self._hold(lines, arrived)
            return self._evict() + self._detect(arrived, out)
        malformed = 0
        for line in lines:
            before = len(out)
            bad = _feed_lines(self._parser, [line], arrived, out)
            if len(out) > before:
                self._seen_record = True
            elif self._seen_record:
                malformed += bad
        return malformed

    def _hold(self, lines: list[str], arrived: float) -> None:
        """Keep lines (with their time) until a parser is chosen."""
        nonblank = sum(1 for line in lines if line and not line.isspace())
        if nonblank and self._held_since is None:
            self._held_since = arrived
        self._held_nonblank += nonblank
        self._held.extend((arrived, line) for line in lines)

    def _evict(self) -> int:
        """Drop the oldest held lines beyond HOLD_LINES; the non-blank ones among them (malformed:
        no parser recognised them)."""
        dropped = 0
        while len(self._held) > HOLD_LINES:
            _, line = self._held.popleft()
            dropped += bool(line) and not line.isspace()
        self._held_nonblank -= dropped
        return dropped

    def _sample(self, last: bool) -> list[str]:
        """The first (or last) DETECT_LINES non-blank held lines."""
        held = reversed(self._held) if last else iter(self._held)
        sample = list(itertools.islice((line for _, line in held if line and not line.isspace()), DETECT_LINES))
        return sample[::-1] if last else sample

    def _detect(self, now: float, out: list[Record], force: bool = False) -> int:
        """Choose the parser when enough lines or time have passed, and parse the held lines into
        `out`; how many of them are malformed."""
        if not self._held_nonblank or self._held_since is None:
            return 0
        if not force and self._held_nonblank < DETECT_LINES and now - self._held_since < DETECT_S:
            return 0
        retry = self._detect_tried_at is not None
        if retry and not force and now - (self._detect_tried_at or 0.0) < DETECT_RETRY_S:
            return 0
        self._detect_tried_at = now
        chosen = detect(self._sample(last=retry), self._parsers)
        if chosen is None:
            self._message = "no parser recognises these lines yet: still looking"
            return 0
        log.info("%s: the lines look like %s", self.port, chosen.name)
        held, self._held, self._held_since, self._held_nonblank = self._held, deque(), None, 0
        with self._lock:
            self._parser = chosen
            self._message = ""
        malformed = 0
        for arrived, group in itertools.groupby(held, key=lambda item: item[0]):
            malformed += self._first_lines([line for _, line in group], arrived, out)
        return malformed

    def _idle(self) -> None:
        """No chunk for a while: detection may be due on time alone, and the recording a flush."""
        now = self._clock()
        if self._parser is None and self._held:
            out: list[Record] = []
            malformed = self._detect(now, out)
            self._deliver(out, 0, malformed)
        with self._lock:
            recorder = self._recorder
            if recorder is not None:
                try:
                    recorder.write([])  # flushes when a flush is due
                except (OSError, WorkbenchError) as error:
                    self._recording_failed(error)
        self._sample_rate(now)

    def _gap(self, when: float) -> None:
        """The port went away: the line in progress is cut, and the buffer and recording show a gap."""
        out: list[Record] = []
        malformed = sum(1 for line in self._splitter.flush() if line.strip())
        if self._parser is None and self._held:
            malformed += self._detect(when, out, force=True)
        self._deliver(out, 0, malformed)
        self.buffer.mark_gap(when)
        with self._lock:
            recorder = self._recorder
            if recorder is not None:
                try:
                    recorder.gap(when)
                except (OSError, WorkbenchError) as error:
                    self._recording_failed(error)

    def _end(self) -> None:
        """The reader has ended: the lines still held are parsed, a line in progress is cut."""
        out: list[Record] = []
        malformed = sum(1 for line in self._splitter.flush() if line.strip())
        if self._parser is None and self._held:
            malformed += self._detect(self._clock(), out, force=True)
            malformed += self._held_nonblank  # no parser at all: not data
            self._held, self._held_nonblank = deque(), 0
        self._deliver(out, 0, malformed)

    def _deliver(self, records: list[Record], lines: int, malformed: int) -> None:
        """Hand a batch of records to the buffer, the recording, recent() and run_monitor; count."""
        if records:
            self.buffer.append(records)
        with self._lock:
            self._lines += lines
            self._records += len(records)
            self._malformed += malformed
            if not records:
                return
            self._recent.extend(records)
            recorder = self._recorder
            if recorder is not None:
                try:
                    recorder.write(records)
                except (OSError, WorkbenchError) as error:
                    self._recording_failed(error)
        if self._sink is not None:
            self._sink.put(records)

    def _recording_failed(self, error: BaseException) -> None:
        """Writing the recording failed (disk full, drive removed): it ends, the stream goes on. Lock held."""
        recorder, self._recorder = self._recorder, None
        self._recorded = recorder
        name = recorder.path if recorder is not None else "the recording"
        log.warning("recording to %s failed", name, exc_info=True)
        if isinstance(error, WorkbenchError):
            said = error.message.rstrip(".")
            self._message = f"recording stopped: {said[:1].lower()}{said[1:]}"
        else:
            reason = (error.strerror if isinstance(error, OSError) else None) or str(error)
            self._message = f"recording stopped: could not write {name} ({reason.lower()})"
        if recorder is not None:
            _close_quietly(recorder)

    def _sample_rate(self, now: float) -> None:
        with self._lock:
            if not self._rates or now - self._rates[-1][0] >= 0.25:
                self._rates.append((now, self._lines, self._records))


class _Handoff:
    """Record batches from the processor to run_monitor's caller: bounded while running, so a
    slow caller slows the stream down (and never loses a record); unbounded once stopping."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._batches: deque[list[Record]] = deque()
        self._changed = threading.Condition()
        self._bounded = True

    def put(self, batch: list[Record]) -> None:
        with self._changed:
            while self._bounded and len(self._batches) >= self.limit:
                self._changed.wait()
            self._batches.append(batch)
            self._changed.notify_all()

    def get(self, timeout: float) -> list[Record]:
        """The oldest batch, or [] when none came within `timeout` seconds."""
        with self._changed:
            if not self._batches:
                self._changed.wait(timeout)
            if not self._batches:
                return []
            batch = self._batches.popleft()
            self._changed.notify_all()
            return batch

    def unbind(self) -> None:
        with self._changed:
            self._bounded = False
            self._changed.notify_all()

    def empty(self) -> bool:
        with self._changed:
            return not self._batches


def _named(parsers: Sequence[Parser], name: str) -> Parser:
    for parser in parsers:
        if parser.name == name:
            return parser
    known = ", ".join(parser.name for parser in parsers) or "none"
    raise WorkbenchError(f"unknown parser '{name}'", f"Known parsers: {known}")


def _close_quietly(recorder: CsvRecorder) -> None:
    try:
        recorder.close()
    except (OSError, WorkbenchError):
        log.warning("closing the recording %s failed", recorder.path, exc_info=True)


def run_monitor(
    port: str,
    baud: int = 115200,
    *,
    parser: str = AUTO,
    record: Path | None = None,
    duration_s: float | None = None,
    on_record: Callable[[Record], None] | None = None,
    task: Task | None = None,
    parsers: Sequence[Parser] | None = None,
) -> StreamStats:
    """Monitor `port` without a screen until `duration_s`, `task` is cancelled, or Ctrl+C; the summary.

    Prints nothing: `on_record` gets every record, in order, on the calling thread; a change of
    state (reconnecting, recording stopped) goes to `task.log`. Raises WorkbenchError (one
    sentence) when the port or the recording cannot be opened.
    """
    stream = MonitorStream(port, baud, parser=parser, record=record, parsers=parsers)
    sink = _Handoff(SINK_BATCHES) if on_record is not None else None
    stream._sink = sink
    stream.start()
    said, looked = "", 0.0
    try:
        while stream.running or (sink is not None and not sink.empty()):
            if task is not None and task.cancelled:
                break
            if duration_s is not None and stream._clock() >= duration_s:
                break
            if sink is not None and on_record is not None:
                for record_ in sink.get(timeout=0.05):
                    on_record(record_)
            else:
                time.sleep(0.05)
            if task is not None and stream._clock() >= looked + 0.25:
                looked = stream._clock()
                message = stream.stats().message
                if message and message != said:
                    task.log(message)
                said = message
    except KeyboardInterrupt:
        log.info("monitor of %s interrupted", port)
    finally:
        stream.stop()
    if sink is not None and on_record is not None:
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl+C: the summary without the rest
            while not sink.empty():
                for record_ in sink.get(timeout=0):
                    on_record(record_)
    return stream.stats()
