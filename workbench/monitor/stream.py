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

- The parsers come from the caller (`workbench.plugins.registry().parsers()`): the monitor never
  imports the plugin discovery. Which one reads the lines is detected from the first lines
  (workbench/monitor/detecting.py, which holds them meanwhile).
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
- The first line after the port (re)opens may be the tail of a line begun before: it is dropped
  then and counted in `dropped_partial` (workbench/monitor/first_line.py).
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
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from workbench.core.errors import Cancelled, WorkbenchError
from workbench.monitor.baud import Garble, GarbledShare, count_garbled, wrong_rate_message
from workbench.monitor.buffer import SampleBuffer
from workbench.monitor.detecting import HeldLines
from workbench.monitor.first_line import FirstLine
from workbench.monitor.handoff import Handoff
from workbench.monitor.lines import LineSplitter
from workbench.monitor.parse import Batch, Parser, Part, Record, feed_safely, parser_named
from workbench.monitor.reader import QUEUE_CHUNKS, STOP_JOIN_S, Chunk, PortReader, open_port
from workbench.monitor.recorder import CsvRecorder
from workbench.monitor.stream_stats import StreamStats

log = logging.getLogger(__name__)

AUTO = "auto"
RECENT_RECORDS = 2000  # records kept for recent()
RATE_WINDOW_S = 1.0  # lines_per_s and records_per_s are measured over about this long
BATCH_CHUNKS = 64  # chunks taken from the queue in one round
IDLE_S = 0.1  # how long the processor waits for a chunk before looking at the clock
# (a board mid-line sends the rest at once; replay.py waits 0.2 s before its first line)


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
        self._parser = None if parser == AUTO else parser_named(parsers, parser)
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
        self._first_line = FirstLine()  # the first line since the port opened may be a tail
        self._held = HeldLines(parsers)  # lines waiting for the parser to be chosen
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
            previous.close_quietly()

    def stop_recording(self) -> None:
        """End the recording (flushed and closed); the stream goes on."""
        with self._lock:
            recorder, self._recorder = self._recorder, None
            if recorder is not None:
                self._recorded = recorder
        if recorder is not None:
            recorder.close_quietly()

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
                self._first_line.opened(arrived)
                with self._lock:
                    self._garbled_share.reset()
                continue
            self._first_line.bytes_came(arrived)
            with self._lock:
                self._garbled_share.add(data)
            lines = split(data)
            if not lines:
                continue
            count += len(lines)
            garble = count_garbled(lines)
            if self._first_line.opening:
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
            batch = feed_safely(parser, lines, arrived)
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
        """Parse the lines the first line's judgement lets through; count a tail dropped."""
        ready, dropped = self._first_line.judge(lines, arrived)
        if dropped is not None:
            log.info("%s: dropped %r, the tail of a line begun before the port opened", self.port, dropped)
            with self._lock:
                self._dropped_partial += 1
        self._parse_groups(ready, out)

    def _parse_groups(self, groups: list[tuple[float, list[str]]], out: Batch) -> None:
        for arrived, group in groups:
            self._parse(group, arrived, out)

    # -- before the first record ----------------------------------------------------------------

    def _first_lines(self, lines: list[str], arrived: float, out: Batch) -> None:
        """Lines before the first record: held while detecting, then parsed one by one until a
        record comes; what the parser counts as malformed before that is boot text."""
        if self._parser is None:
            self._held.hold(lines, arrived)
            self._detect(arrived, out)
            return
        for index, line in enumerate(lines):
            batch = feed_safely(self._parser, [line], arrived)
            if len(batch):
                batch.malformed = 0
                out.extend(batch)
                self._seen_record = True
                rest = lines[index + 1 :]
                if rest:
                    batch = feed_safely(self._parser, rest, arrived)
                    self._count_unreadable(self._parser, rest, batch, None)
                    out.extend(batch)
                return

    def _detect(self, now: float, out: Batch, force: bool = False) -> None:
        """Choose the parser when it is time, and parse the held lines into `out`."""
        chosen = self._held.choose(now, force)
        if chosen is None:
            if self._held.tried:
                self._message = "no parser recognises these lines yet: still looking"
            return
        log.info("%s: the lines look like %s", self.port, chosen.name)
        with self._lock:
            self._parser = chosen
            self._message = ""
        self._parse_groups(list(self._held.release()), out)

    # -- quiet, gaps, the end -------------------------------------------------------------------

    def _idle(self) -> None:
        """No chunk for a while: the first line may have waited long enough, detection may be due
        on time alone, and the recording a flush."""
        now = self._clock()
        out = Batch()
        if self._first_line.waited_long(now):
            self._parse_groups(self._first_line.release(), out)
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
        self._parse_groups(self._first_line.release(), out)
        out.malformed += sum(1 for line in self._splitter.flush() if line.strip())
        if self._parser is None and self._held:
            self._detect(when, out, force=True)
        self._flush_parser(out)
        self._first_line.judge_again()  # the text ended: what comes after it is judged anew

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
        self._held.drop()  # no parser recognised them: not data
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
        recorder.close_quietly()

    def _sample_rate(self, now: float) -> None:
        with self._lock:
            if not self._rates or now - self._rates[-1][0] >= 0.25:
                self._rates.append((now, self._lines, self._records))
