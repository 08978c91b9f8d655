"""The monitor's stream: a serial port read, split into lines, parsed, buffered and recorded.

Two threads and a bounded queue between them (see workbench/monitor/reader.py for the first):

    PortReader (I/O) --(time, bytes) chunks--> processor: LineSplitter -> Parser -> SampleBuffer, CsvRecorder

The processor takes every chunk waiting at once, turns each into lines and hands them to the
parser's `feed_lines` (a whole chunk at a time: the CSV and Arduino parsers read a run of lines
of one shape with numpy), and hands the records on in one `Batch` per round, in columns where the
parser gave columns: one `SampleBuffer.append_batch`, one `CsvRecorder.write_batch`. Record
objects are made only for `recent()` (the last RECENT_RECORDS) and for run_monitor's `on_record`,
when it is given. Nothing is dropped: a full queue makes the reader wait (and with it the kernel
and the board).

- The parsers come from the caller (the plugin registry's, `workbench.plugins.registry().parsers()`),
  so the monitor never imports the plugin discovery, which knows the flashers' contract too.
- The parser is detected from the first DETECT_LINES non-empty lines or DETECT_S seconds,
  whichever comes first (`workbench.monitor.parse.detect`); the lines seen meanwhile are held and
  parsed once it is chosen. If no parser recognises them, detection is tried again as lines arrive;
  at most HOLD_LINES lines wait, the oldest going first.
- Malformed lines: those the parser counts as lines of its format it could not read (its
  `malformed`; lines that are simply not its format - boot text, `error: ...`, the other lines of
  a prediction block - are not), from the first record on; plus a line cut by a disconnect, by
  stopping, or for length (`LineSplitter.cut_lines`). Lines before the first record are boot
  text, and lines no parser ever recognised are not data: neither is malformed.
- Unreadable lines (`unreadable`): once data has come, every non-blank line that is neither data
  nor malformed (for a parser whose records take several lines each, `Parser.multiline`: the
  garbled ones); before data, and while no parser is chosen, the garbled lines
  (`workbench.monitor.baud.garbled`: bytes that are not text, as a wrong baud rate or binary
  output gives). When most recent lines are garbled the stream says the baud rate is probably
  wrong and which rates to try (`stats().message`, `stats().wrong_baud`).
- The tail of a line: the port may open (or open again) while the board is in the middle of a
  line, whose tail is then the first line read. It is dropped, and counted in `dropped_partial`
  (not malformed: nothing is wrong with the board), when its first bytes came within
  TAIL_WINDOW_S of the port opening (a board already printing; a line begun after that is whole)
  and it looks cut (`lines.looks_cut`: its shape, numbers aside, is a shorter ending of the next
  line's: `le:0.5 wave:0.2` before `idle:0.4 wave:0.3`). So the Arduino IDE 2 plotter's drift
  (it drops the first line always) is avoided for a board that starts printing as the port opens
  (reset by the opening, a virtual board): its first line has the shape of the next and is kept.
  The first line waits for the next one at most TAIL_WAIT_S.
- A disconnect marks a gap in the buffer (`SampleBuffer.mark_gap`) and the recording
  (`CsvRecorder.gap`); the reader reopens the port when it comes back and counts the reconnect.
  At a disconnect and at stop, the parser's `flush()` hands over the lines it still holds (a
  prediction block waiting for the line after it).
- The recording is offered a flush (`CsvRecorder.tick`) every round and while the board is quiet,
  so its rows reach the disk within about a second whatever the board does.
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
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.errors import Cancelled, WorkbenchError
from workbench.monitor.baud import Garble, GarbledShare, count_garbled, wrong_rate_message
from workbench.monitor.buffer import SampleBuffer
from workbench.monitor.handoff import Handoff
from workbench.monitor.lines import LineSplitter, looks_cut
from workbench.monitor.parse import Batch, Parser, Part, Record, detect, feed_each
from workbench.monitor.reader import QUEUE_CHUNKS, STOP_JOIN_S, Chunk, PortReader, open_port
from workbench.monitor.recorder import CsvRecorder

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
TAIL_WINDOW_S = 0.1  # a first line whose bytes came this soon after the port opened may be a tail
# (a board mid-line sends the rest at once; replay.py waits 0.2 s before its first line)
TAIL_WAIT_S = 1.0  # how long the first line waits for the next one, to be judged by it


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
    dropped_partial: int = 0  # first lines after (re)opening the port that were the tail of a line
    unreadable: int = 0  # lines that are not data (see the module docstring)
    wrong_baud: bool = False  # most recent lines are garbled: the baud rate is probably wrong

    def to_json(self) -> dict[str, Any]:
        """Every field, as the `monitor --json` summary prints them."""
        return asdict(self)


def _feed(parser: Parser, lines: list[str], time: float) -> Batch:
    """The parser's batch for `lines` (all arrived at `time`). A `feed_lines` that fails, or gives
    something other than a Batch, is replaced by feeding the lines one by one."""
    try:
        batch = parser.feed_lines(lines, time)
    except Exception:  # noqa: BLE001 - plugin code: fall back to one line at a time
        log.warning("parser %r failed on a batch of lines", parser.name, exc_info=True)
    else:
        if isinstance(batch, Batch):
            return batch
        log.warning("parser %r: feed_lines gave %s, not a Batch", parser.name, type(batch).__name__)
    return feed_each(parser, lines, time)


class MonitorStream:
    """A port read into `buffer` (and a recording) by two threads; see the module docstring."""

    def __init__(
        self,
        port: str,
        baud: int = 115200,
        *,
        parsers: Sequence[Parser],
        parser: str = AUTO,
        record: Path | None = None,
        capacity: int = 1_000_000,
        sink: Handoff | None = None,
    ) -> None:
        """`sink`: also hand every record, in batches, to whoever reads it (run_monitor)."""
        self.port = port
        self.baud = baud
        self.buffer = SampleBuffer(capacity)
        self.paused = False
        self._parser = None if parser == AUTO else _named(parsers, parser)
        self._parsers = list(parsers)
        self._record_path = record
        self._lock = threading.Lock()  # counters, recent records, recorder
        self._chunks: queue.Queue[Chunk] = queue.Queue(maxsize=QUEUE_CHUNKS)
        self._splitter = LineSplitter()
        self._reader: PortReader | None = None
        self._processor: threading.Thread | None = None
        self._life = threading.Lock()  # start() and stop() one at a time, from any threads
        self._stopping = threading.Event()  # stop() was called: nothing waits for run_monitor's caller now
        self._finish = threading.Event()  # the reader has ended: the processor ends once the queue is empty
        self._recorder: CsvRecorder | None = None
        self._recorded: CsvRecorder | None = None  # the last recording, for the summary once stopped
        self._recent: deque[Part] = deque()  # the parts holding the last RECENT_RECORDS records
        self._recent_count = 0
        self._sink = sink
        self._t0 = 0.0
        self._ended_at: float | None = None
        self._lines = 0
        self._records = 0
        self._malformed = 0
        self._unreadable = 0
        self._garbled_share = GarbledShare()
        self._dropped_partial = 0
        self._seen_record = False
        self._opened_at = 0.0  # when the port was (re)opened
        self._opening = True  # no line judged since the port opened: the first may be a tail
        self._first_bytes_at: float | None = None  # when the first bytes since then came
        self._first: list[tuple[float, list[str]]] = []  # lines waiting for the first to be judged
        self._held: deque[tuple[float, str]] = deque()
        self._held_since: float | None = None  # when the first non-blank held line arrived
        self._held_nonblank = 0
        self._detect_tried_at: float | None = None
        self._message = "" if self._parser is not None else "detecting the format…"
        self._failure = ""
        self._rates: deque[tuple[float, int, int]] = deque(maxlen=int(RATE_WINDOW_S / 0.25) + 1)

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Open the port (and the recording) and start reading; raises WorkbenchError, one sentence,
        or Cancelled when stop() came first. May run in a thread of its own (opening a port can take
        seconds): a stop() meanwhile waits for it, then stops what it started."""
        with self._life:
            if self._stopping.is_set():
                raise Cancelled()
            self._start()

    def _start(self) -> None:
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
        """Stop reading, process what was read, close the port and the recording. Safe to call twice,
        and from another thread than start()'s."""
        self._stopping.set()
        with self._life:
            self._stop()

    def _stop(self) -> None:
        if self._sink is not None:
            self._sink.unbind()  # the processor must not wait for run_monitor's caller, who waits for it
        if self._reader is not None:
            self._reader.stop()
        self._finish.set()
        if self._processor is not None and self._processor.is_alive():
            self._processor.join(STOP_JOIN_S)
            if self._processor.is_alive():
                log.warning("the processor of %s did not end within %g s", self.port, STOP_JOIN_S)
        if self._ended_at is None and self._processor is not None:
            self._ended_at = self._clock()
        self.stop_recording()

    @property
    def running(self) -> bool:
        return self._processor is not None and self._processor.is_alive() and not self._stopping.is_set()

    def clock(self) -> float:
        """Seconds since start(), the time records are stamped with."""
        return self._clock()

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
            unreadable = self._unreadable
            wrong_baud = self._garbled_share.mostly_garbled
            message = self._failure or (reader.message if reader is not None and reader.message else self._message)
            if wrong_baud and not self._failure:
                message = wrong_rate_message(self.baud)
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
            dropped_partial=self._dropped_partial,
            unreadable=unreadable,
            wrong_baud=wrong_baud,
        )

    def recent(self, n: int = 200) -> list[Record]:
        """The last `n` records (at most RECENT_RECORDS), oldest first."""
        with self._lock:
            recent = Batch.of_parts(list(self._recent))
        return recent.records(last=max(0, min(n, RECENT_RECORDS)))

    def clear(self) -> None:
        """Empty the buffer and the recent records; the recording goes on."""
        with self._lock:
            self._recent.clear()
            self._recent_count = 0
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

    def _take(self, chunks: list[Chunk]) -> None:
        """Lines, records and gaps from a batch of chunks, handed on in order."""
        out = Batch()
        count = 0
        split = self._splitter.feed
        for arrived, data in chunks:
            if data is None:
                self._deliver(out, count)
                out, count = Batch(), 0
                self._gap(arrived)
                continue
            if not data:  # the reader opened the port again
                self._opened_at = arrived
                with self._lock:
                    self._garbled_share.reset()
                continue
            if self._opening and self._first_bytes_at is None:
                self._first_bytes_at = arrived
            with self._lock:
                self._garbled_share.add(data)
            lines = split(data)
            if not lines:
                continue
            count += len(lines)
            garble = count_garbled(lines)
            if self._opening:
                self._unreadable += garble.lines
                self._judge_first(lines, arrived, out)
            else:
                self._parse(lines, arrived, out, fresh=garble)
        self._deliver(out, count)
        self._sample_rate(chunks[-1][0])

    def _parse(self, lines: list[str], arrived: float, out: Batch, fresh: Garble | None = None) -> None:
        """Parse lines into `out` (held while no parser is chosen). `fresh`: what the lines hold,
        for lines not yet counted as unreadable or not."""
        parser = self._parser
        if parser is not None and self._seen_record:
            batch = _feed(parser, lines, arrived)
            self._count_unreadable(parser, lines, batch, fresh)
            out.extend(batch)
        else:
            if fresh is not None:
                self._unreadable += fresh.lines
            self._first_lines(lines, arrived, out)

    def _count_unreadable(self, parser: Parser, lines: list[str], batch: Batch, fresh: Garble | None) -> None:
        """Count the lines that gave no data once data has come (see the module docstring); lines
        not `fresh` had their garbled ones counted when they came."""
        if parser.multiline:
            self._unreadable += fresh.lines if fresh is not None else 0
            return
        garble = fresh if fresh is not None else count_garbled(lines)
        not_data = max(0, garble.nonblank - len(batch) - batch.malformed)
        self._unreadable += not_data if fresh is not None else max(0, not_data - garble.lines)

    # -- the first line after opening: maybe the tail of a line ---------------------------------

    def _judge_first(self, lines: list[str], arrived: float, out: Batch) -> None:
        """Hold lines until the first line since the port opened can be judged; then parse them,
        without the first when it is the tail of a line (see the module docstring)."""
        first_bytes = self._first_bytes_at if self._first_bytes_at is not None else arrived
        if not self._first and first_bytes - self._opened_at > TAIL_WINDOW_S:
            self._opening = False  # the board began this line after the port opened: it is whole
            self._parse(lines, arrived, out)
            return
        self._first.append((arrived, lines))
        held = (line for _, group in self._first for line in group)
        first = next(held)
        if first.strip():
            following = next((line for line in held if line.strip()), None)
            if following is None:
                if arrived - self._first[0][0] < TAIL_WAIT_S:
                    return  # wait for the next line (_idle ends the wait too)
                self._release_first(out)  # nothing to judge it by: kept
                return
            if looks_cut(first, following):
                log.info("%s: dropped %r, the tail of a line begun before the port opened", self.port, first)
                self._first[0][1].pop(0)
                with self._lock:
                    self._dropped_partial += 1
        self._release_first(out)

    def _release_first(self, out: Batch) -> None:
        """Parse the lines held for judging the first one; the lines after them are whole."""
        held, self._first = self._first, []
        self._opening = False
        for arrived, group in held:
            if group:
                self._parse(group, arrived, out)

    # -- before the first record ----------------------------------------------------------------

    def _first_lines(self, lines: list[str], arrived: float, out: Batch) -> None:
        """Lines before the first record: held while detecting, then parsed one by one until a
        record comes; what the parser counts as malformed before that is boot text."""
        if self._parser is None:
            self._hold(lines, arrived)
            self._evict()
            self._detect(arrived, out)
            return
        for index, line in enumerate(lines):
            batch = _feed(self._parser, [line], arrived)
            if len(batch):
                batch.malformed = 0
                out.extend(batch)
                self._seen_record = True
                rest = lines[index + 1 :]
                if rest:
                    batch = _feed(self._parser, rest, arrived)
                    self._count_unreadable(self._parser, rest, batch, None)
                    out.extend(batch)
                return

    def _hold(self, lines: list[str], arrived: float) -> None:
        """Keep lines (with their time) until a parser is chosen."""
        nonblank = sum(1 for line in lines if line and not line.isspace())
        if nonblank and self._held_since is None:
            self._held_since = arrived
        self._held_nonblank += nonblank
        self._held.extend((arrived, line) for line in lines)

    def _evict(self) -> None:
        """Drop the oldest held lines beyond HOLD_LINES (no parser recognised them: not data)."""
        while len(self._held) > HOLD_LINES:
            _, line = self._held.popleft()
            self._held_nonblank -= bool(line) and not line.isspace()

    def _sample(self, last: bool) -> list[str]:
        """The first (or last) DETECT_LINES non-blank held lines."""
        held = reversed(self._held) if last else iter(self._held)
        sample = list(itertools.islice((line for _, line in held if line and not line.isspace()), DETECT_LINES))
        return sample[::-1] if last else sample

    def _detect(self, now: float, out: Batch, force: bool = False) -> None:
        """Choose the parser when enough lines or time have passed, and parse the held lines into
        `out`."""
        if not self._held_nonblank or self._held_since is None:
            return
        if not force and self._held_nonblank < DETECT_LINES and now - self._held_since < DETECT_S:
            return
        retry = self._detect_tried_at is not None
        if retry and not force and now - (self._detect_tried_at or 0.0) < DETECT_RETRY_S:
            return
        self._detect_tried_at = now
        chosen = detect(self._sample(last=retry), self._parsers)
        if chosen is None:
            self._message = "no parser recognises these lines yet: still looking"
            return
        log.info("%s: the lines look like %s", self.port, chosen.name)
        held, self._held, self._held_since, self._held_nonblank = self._held, deque(), None, 0
        with self._lock:
            self._parser = chosen
            self._message = ""
        for arrived, group in itertools.groupby(held, key=lambda item: item[0]):
            self._parse([line for _, line in group], arrived, out)

    # -- quiet, gaps, the end -------------------------------------------------------------------

    def _idle(self) -> None:
        """No chunk for a while: the first line may have waited long enough, detection may be due
        on time alone, and the recording a flush."""
        now = self._clock()
        out = Batch()
        if self._first and now - self._first[0][0] >= TAIL_WAIT_S:
            self._release_first(out)
        if self._parser is None and self._held:
            self._detect(now, out)
        self._deliver(out, 0)
        self._sample_rate(now)

    def _flush_parser(self, out: Batch) -> None:
        """The records the parser still holds (the board stopped printing)."""
        parser = self._parser
        if parser is None:
            return
        try:
            records = list(parser.flush())
        except Exception:  # noqa: BLE001 - plugin code
            log.warning("parser %r failed to flush", parser.name, exc_info=True)
            return
        if records:
            self._seen_record = True
            out.add(records)

    def _stopped_reading(self, when: float, out: Batch) -> None:
        """The board's text ends here (disconnect, stop): held lines are parsed, the line in
        progress is cut (malformed), the parser hands over what it holds."""
        self._release_first(out)
        out.malformed += sum(1 for line in self._splitter.flush() if line.strip())
        if self._parser is None and self._held:
            self._detect(when, out, force=True)
        self._flush_parser(out)
        self._opening, self._first_bytes_at = True, None

    def _gap(self, when: float) -> None:
        """The port went away: the line in progress is cut, and the buffer and recording show a gap."""
        out = Batch()
        self._stopped_reading(when, out)
        self._deliver(out, 0)
        self.buffer.mark_gap(when)
        recorder = self._recorder
        if recorder is not None:
            try:
                recorder.gap(when)
            except (OSError, WorkbenchError) as error:
                self._recording_failed(recorder, error)

    def _end(self) -> None:
        """The reader has ended: the lines still held are parsed, a line in progress is cut."""
        out = Batch()
        self._stopped_reading(self._clock(), out)
        self._held, self._held_nonblank = deque(), 0  # no parser recognised them: not data
        self._deliver(out, 0)

    def _deliver(self, batch: Batch, lines: int) -> None:
        """Hand a batch of records to the buffer, the recording, recent() and run_monitor; count."""
        batch.compact()
        count = len(batch)
        if count:
            self.buffer.append_batch(batch)
        with self._lock:
            self._lines += lines
            self._records += count
            self._malformed += batch.malformed
            if count:
                self._keep_recent(batch)
            recorder = self._recorder
        if recorder is not None:  # outside the lock: a flush takes a while, and stats() must not wait
            try:
                if count:
                    recorder.write_batch(batch)
                else:
                    recorder.tick()
            except (OSError, WorkbenchError) as error:
                self._recording_failed(recorder, error)
        if count and self._sink is not None:
            self._sink.put(batch.records())

    def _keep_recent(self, batch: Batch) -> None:
        """Keep the parts holding the last RECENT_RECORDS records (lock held)."""
        for part in batch.parts:
            self._recent.append(part)
            self._recent_count += len(part)
        while self._recent and self._recent_count - len(self._recent[0]) >= RECENT_RECORDS:
            self._recent_count -= len(self._recent.popleft())

    def _recording_failed(self, recorder: CsvRecorder, error: BaseException) -> None:
        """Writing the recording failed (disk full, drive removed): it ends, the stream goes on."""
        log.warning("recording to %s failed", recorder.path, exc_info=True)
        with self._lock:
            if self._recorder is recorder:
                self._recorder = None
            self._recorded = recorder
            if isinstance(error, WorkbenchError):
                said = error.message.rstrip(".")
                self._message = f"recording stopped: {said[:1].lower()}{said[1:]}"
            else:
                reason = (error.strerror if isinstance(error, OSError) else None) or str(error)
                self._message = f"recording stopped: could not write {recorder.path} ({reason.lower()})"
        _close_quietly(recorder)

    def _sample_rate(self, now: float) -> None:
        with self._lock:
            if not self._rates or now - self._rates[-1][0] >= 0.25:
                self._rates.append((now, self._lines, self._records))


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
