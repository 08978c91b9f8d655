"""MonitorStream and run_monitor over real ptys and real threads: every record accounted for
through garbage, split writes, detection, 64 channels, unplug and replug, and bad input."""

from __future__ import annotations

import math
import queue
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.monitor.conftest import PtyPort, wait_for
from workbench.core.errors import WorkbenchError
from workbench.monitor import detecting, first_line, headless
from workbench.monitor import stream as stream_module
from workbench.monitor.headless import run_monitor
from workbench.monitor.parse import Record
from workbench.monitor.reader import open_port
from workbench.monitor.recorder import GAP_EVENT, read_recording
from workbench.monitor.stream import MonitorStream
from workbench.plugins import registry
from workbench.tasks import Task


@pytest.fixture
def streams() -> Iterator[list[MonitorStream]]:
    """Streams a test starts, stopped after it even when it fails."""
    started: list[MonitorStream] = []
    yield started
    for stream in started:
        stream.stop()


def start(streams: list[MonitorStream], port: str, **options: object) -> MonitorStream:
    stream = MonitorStream(port, parsers=registry().parsers(), **options)  # type: ignore[arg-type]
    stream.start()
    streams.append(stream)
    return stream


def write_in_pieces(port: PtyPort, data: bytes) -> None:
    """Write `data` in pieces of 1 to 7 bytes, so lines, CRLFs and bad bytes straddle writes."""
    position, size = 0, 1
    while position < len(data):
        port.write(data[position : position + size])
        position += size
        size = size % 7 + 1


def column(stream: MonitorStream, name: str) -> list[float]:
    return [float(value) for value in stream.buffer.view([name])[1][name]]


def test_a_transcript_with_boot_text_garbage_and_split_crlf_gives_every_record(
    pty_port: PtyPort, streams: list[MonitorStream]
) -> None:
    """Boot text, then label:value lines with CRLF endings, garbage bytes on lines of their own,
    all written in pieces of 1-7 bytes: every record arrives with its values; the garbage lines
    are no plotter line (the parser does not count them), so they are not data, like the boot
    text: nothing is malformed; the garbage after data has started is unreadable, the boot text
    before it is not."""
    boot = b"ESP-ROM:esp32s3-20210327\r\nBooting...\r\n"
    data = [b"a:%d b:%d\r\n" % (i, -i) for i in range(40)]
    garbage = b"\xff\xfe\x80\r\n"
    transcript = boot + b"".join(data[:25]) + garbage + b"".join(data[25:32]) + garbage + b"".join(data[32:])
    stream = start(streams, pty_port.path)
    write_in_pieces(pty_port, transcript)
    wait_for(lambda: stream.stats().records == 40, "40 records")
    stream.stop()
    stats = stream.stats()
    assert stats.parser == "arduino"
    assert stats.channels == ["a", "b"]
    assert column(stream, "a") == list(range(40))
    assert column(stream, "b") == [-i for i in range(40)]
    assert (stats.lines, stats.records, stats.malformed, stats.dropped_partial) == (44, 40, 0, 0)
    assert (stats.unreadable, stats.wrong_baud) == (2, False)
    assert stats.bytes == len(transcript)
    assert [record.values for record in stream.recent(3)] == [{"a": i, "b": -i} for i in (37, 38, 39)]


def test_lines_seen_while_detecting_are_parsed_once_the_parser_is_chosen(
    pty_port: PtyPort, streams: list[MonitorStream]
) -> None:
    """Five CSV rows (fewer than the lines detection waits for): chosen after its time runs out,
    and the five rows held meanwhile all become records."""
    stream = start(streams, pty_port.path)
    assert stream.stats().parser == ""
    pty_port.write(b"".join(b"%d,%d.5,7\n" % (i, i) for i in range(5)))
    wait_for(lambda: stream.stats().records == 5, "the 5 held rows")
    stats = stream.stats()
    assert stats.parser == "csv"
    assert stats.channels == ["column 1", "column 2", "column 3"]
    assert column(stream, "column 2") == [0.5, 1.5, 2.5, 3.5, 4.5]
    assert stats.malformed == 0


def test_a_long_preamble_no_parser_knows_is_held_bounded_and_the_data_after_it_all_arrives(
    pty_port: PtyPort, streams: list[MonitorStream], monkeypatch: pytest.MonkeyPatch
) -> None:
    """100 lines no parser recognises, then data: at most HOLD_LINES lines wait for a parser (the
    oldest go; no parser knew them, so they are not data, not malformed), and every data line
    becomes a record."""
    monkeypatch.setattr(detecting, "HOLD_LINES", 50)
    stream = start(streams, pty_port.path)
    pty_port.write(b"waiting for sensor...\n" * 100)
    wait_for(lambda: stream.stats().lines == 100, "the preamble")
    wait_for(lambda: "no parser recognises" in stream.stats().message, "detection to give up for now")
    assert len(stream._held) == 50  # the 50 newest; the oldest went
    pty_port.write(b"".join(b"a:%d b:%d\n" % (i, -i) for i in range(30)))
    wait_for(lambda: stream.stats().records == 30, "the 30 records after the preamble")
    stats = stream.stats()
    assert stats.parser == "arduino" and stats.message == ""
    assert column(stream, "a") == list(range(30))
    assert stats.malformed == 0 and stats.lines == 130


def test_lines_no_parser_knows_are_not_data_when_the_session_ends(
    pty_port: PtyPort, streams: list[MonitorStream]
) -> None:
    """Lines no parser ever recognised are neither records nor malformed: boot text, or a format
    no parser reads (lines - records says how many lines were not data)."""
    stream = start(streams, pty_port.path)
    pty_port.write(b"waiting for sensor...\n" * 5 + b"\n")
    wait_for(lambda: stream.stats().lines == 6, "the lines")
    stream.stop()
    stats = stream.stats()
    assert (stats.lines, stats.records, stats.malformed, stats.parser) == (6, 0, 0, "")


def test_a_parser_named_replaces_detection(pty_port: PtyPort, streams: list[MonitorStream]) -> None:
    """Comma-separated numbers read by the Arduino plotter parser when it is asked for by name."""
    stream = start(streams, pty_port.path, parser="arduino")
    assert stream.stats().parser == "arduino"
    pty_port.write(b"1,2,3\n4,5,6\n")
    wait_for(lambda: stream.stats().records == 2, "2 records")
    assert stream.stats().channels == ["value 1", "value 2", "value 3"]
    with pytest.raises(WorkbenchError, match="unknown parser 'nope'"):
        MonitorStream(pty_port.path, parsers=registry().parsers(), parser="nope")


def test_64_channels_arrive_whole(pty_port: PtyPort, streams: list[MonitorStream]) -> None:
    stream = start(streams, pty_port.path)
    lines = [" ".join(f"ch{c}:{row * 100 + c}" for c in range(64)).encode() + b"\n" for row in range(30)]
    write_in_pieces(pty_port, b"".join(lines))
    wait_for(lambda: stream.stats().records == 30, "30 records")
    stats = stream.stats()
    assert stats.channels == [f"ch{c}" for c in range(64)]
    times, values = stream.buffer.view()
    assert len(times) == 30
    assert [float(values[f"ch{c}"][-1]) for c in range(64)] == [2900 + c for c in range(64)]
    assert stats.malformed == 0


def test_unplug_and_replug_mid_stream_loses_no_record(
    pty_port: PtyPort, streams: list[MonitorStream], tmp_path: Path
) -> None:
    """Records before the unplug and after the replug all arrive, in the buffer and the recording;
    the gap is marked in both; one reconnect; the line the unplug cut is counted as malformed."""
    recording = tmp_path / "session.csv"
    stream = start(streams, pty_port.path, record=recording)
    before = b"".join(b"x:%d,y:%d\n" % (i, 2 * i) for i in range(100))
    pty_port.write(before + b"x:100,y:")  # the last line never ends: the cable is pulled
    wait_for(lambda: stream.stats().bytes == len(before) + 8, "the bytes before the unplug")
    wait_for(lambda: stream.stats().records == 100, "the records before the unplug")
    pty_port.unplug()
    wait_for(lambda: not stream.stats().connected, "the unplug to be noticed")
    assert stream.stats().message == f"reconnecting to {pty_port.path}…"
    pty_port.plug()
    wait_for(lambda: stream.stats().connected, "the reconnect")
    pty_port.write(b"".join(b"x:%d,y:%d\n" % (i, 2 * i) for i in range(100, 200)))
    wait_for(lambda: stream.stats().records == 200, "the records after the replug")
    stream.stop()

    stats = stream.stats()
    assert (stats.records, stats.reconnects, stats.malformed) == (200, 1, 1)
    times, values = stream.buffer.view()
    gap_rows = [i for i in range(len(times)) if math.isnan(values["x"][i])]
    assert gap_rows == [100]  # one row, between the last record before and the first after
    assert [float(v) for v in np.delete(values["x"], gap_rows)] == list(range(200))
    assert float(times[99]) <= float(times[100]) <= float(times[101])

    recorded = read_recording(recording)
    assert [record.events for record in recorded if not record.values] == [(GAP_EVENT,)]
    assert [record.values["x"] for record in recorded if record.values] == list(range(200))
    assert stats.recording == str(recording) and stats.recording_bytes == recording.stat().st_size


def test_a_recording_that_cannot_be_written_is_one_sentence_and_the_session_goes_on(
    pty_port: PtyPort, streams: list[MonitorStream], tmp_path: Path
) -> None:
    """At start: refused before anything runs, and the port is free again. While running: the
    new recording is refused, and the stream and the recording already going on continue."""
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("a file, not a folder")
    with pytest.raises(WorkbenchError) as at_start:
        MonitorStream(pty_port.path, parsers=registry().parsers(), record=not_a_folder / "session.csv").start()
    assert "\n" not in at_start.value.message and str(not_a_folder) in at_start.value.message
    open_port(pty_port.path, 115200).close()  # not left open by the failed start

    recording = tmp_path / "kept.csv"
    stream = start(streams, pty_port.path, record=recording)
    pty_port.write(b"".join(b"v:%d\n" % i for i in range(25)))
    wait_for(lambda: stream.stats().records == 25, "25 records")
    with pytest.raises(WorkbenchError) as while_running:
        stream.start_recording(not_a_folder / "other.csv")
    assert "\n" not in while_running.value.message
    pty_port.write(b"".join(b"v:%d\n" % i for i in range(25, 50)))
    wait_for(lambda: stream.stats().records == 50, "50 records")
    assert stream.stats().recording == str(recording)
    stream.stop()
    assert [record.values["v"] for record in read_recording(recording)] == list(range(50))


def test_stop_recording_and_start_recording_while_running(
    pty_port: PtyPort, streams: list[MonitorStream], tmp_path: Path
) -> None:
    stream = start(streams, pty_port.path)
    pty_port.write(b"".join(b"v:%d\n" % i for i in range(30)))
    wait_for(lambda: stream.stats().records == 30, "30 records")
    stream.start_recording(tmp_path / "later.csv")
    assert stream.stats().recording == str(tmp_path / "later.csv")
    pty_port.write(b"".join(b"v:%d\n" % i for i in range(30, 40)))
    wait_for(lambda: stream.stats().records == 40, "40 records")
    stream.stop_recording()
    assert stream.stats().recording == ""
    assert [record.values["v"] for record in read_recording(tmp_path / "later.csv")] == list(range(30, 40))
    stream.clear()
    assert stream.buffer.size == 0 and stream.recent() == []
    pty_port.write(b"v:40\n")
    wait_for(lambda: stream.stats().records == 41, "the record after clear()")
    assert column(stream, "v") == [40.0]


class Board(threading.Thread):
    """A board on `port` that prints `sync:1` until the monitor is heard from (`heard` is set),
    then `data`. pyserial empties a port's input as it opens it, so what a board prints before
    can be lost, a line maybe cut: the sync lines keep the data clear of that."""

    def __init__(self, port: PtyPort, data: bytes) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.data = data
        self.heard = threading.Event()
        self.start()

    def run(self) -> None:
        while not self.heard.wait(0.005):
            self.port.write(b"sync:1\n")
        self.port.write(self.data)


def closed(port: PtyPort) -> bool:
    """Whether the monitor let go of the port: it can be opened for exclusive use again."""
    try:
        open_port(port.path, 115200).close()
    except WorkbenchError:
        return False
    return True


def test_run_monitor_hands_every_record_over_in_order_until_cancelled(pty_port: PtyPort, tmp_path: Path) -> None:
    """Headless: on_record gets each record on the calling thread; cancelling the task ends the
    session with its summary, and the recording holds the same records."""
    task = Task()
    got: list[Record] = []
    caller = threading.get_ident()
    board = Board(pty_port, b"".join(b"i:%d sq:%d\n" % (i, i * i) for i in range(300)))

    def on_record(record: Record) -> None:
        assert threading.get_ident() == caller
        got.append(record)
        board.heard.set()
        if sum("i" in record.values for record in got) == 300:
            task.cancel()

    stats = run_monitor(
        pty_port.path,
        parsers=registry().parsers(),
        record=tmp_path / "run.csv",
        on_record=on_record,
        task=task,
        duration_s=60,
    )
    board.join(timeout=10)
    data = [record for record in got if "i" in record.values]
    assert [record.values["i"] for record in data] == list(range(300))
    assert [record.values["sq"] for record in data] == [i * i for i in range(300)]
    summary = stats.to_json()
    assert {key: summary[key] for key in ("records", "malformed", "reconnects")} == {
        "records": len(got),
        "malformed": 0,
        "reconnects": 0,
    }
    assert summary["lines"] >= len(got)  # the first sync line may have been cut into boot text
    assert set(summary["channels"]) >= {"sync", "i", "sq"}
    assert summary["recording"] == str(tmp_path / "run.csv")
    assert len(read_recording(tmp_path / "run.csv")) == len(got)
    assert closed(pty_port)
    assert stats.duration_s < 60, "ended by the safety net, not by the cancel"


def test_run_monitor_ends_cleanly_on_ctrl_c_and_at_its_duration(pty_port: PtyPort) -> None:
    got: list[Record] = []
    board = Board(pty_port, b"".join(b"n:%d\n" % i for i in range(50)))

    def on_record(record: Record) -> None:
        board.heard.set()
        if "n" in record.values:
            got.append(record)
            if len(got) == 10:
                raise KeyboardInterrupt

    stats = run_monitor(pty_port.path, parsers=registry().parsers(), on_record=on_record, duration_s=60)
    board.join(timeout=10)
    assert len(got) >= 10 and stats.records >= len(got)
    assert [record.values["n"] for record in got] == list(range(len(got)))
    assert closed(pty_port)
    assert stats.duration_s < 60, "ended by the safety net, not by Ctrl+C"

    stats = run_monitor(pty_port.path, parsers=registry().parsers(), duration_s=0.2)
    assert stats.duration_s >= 0.2 and closed(pty_port)


class FloodingBoard(Board):
    """A board printing `k:<n>` lines, n counting up, as fast as the port takes them, until `quit`."""

    def __init__(self, port: PtyPort) -> None:
        self.quit = threading.Event()
        super().__init__(port, b"")

    def run(self) -> None:
        while not self.heard.wait(0.005):
            self.port.write(b"sync:1\n")
        number = 0
        while not self.quit.is_set():
            _, writable, _ = select.select([], [self.port.master], [], 0.05)
            if writable:
                self.port.write(b"".join(b"k:%d\n" % (number + i) for i in range(100)))
                number += 100


def test_run_monitor_stopped_while_its_caller_lags_behind_delivers_every_record(
    pty_port: PtyPort, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The board floods and on_record is slow: the stream waits for the caller instead of
    dropping; the duration ends the session while records wait for the caller and more keep
    coming, stopping does not deadlock on them, and every record counted reaches on_record."""
    monkeypatch.setattr(headless, "SINK_BATCHES", 2)  # the caller falls behind at once
    monkeypatch.setattr(stream_module, "QUEUE_CHUNKS", 8)  # and the backlog stays small
    board = FloodingBoard(pty_port)
    got: list[Record] = []
    slow_until = time.monotonic() + 60

    def on_record(record: Record) -> None:
        nonlocal slow_until
        if not board.heard.is_set():
            board.heard.set()
            slow_until = time.monotonic() + 0.3
        got.append(record)
        if time.monotonic() < slow_until:
            time.sleep(0.0005)  # a slow terminal, until the session is over

    try:
        stats = run_monitor(pty_port.path, parsers=registry().parsers(), on_record=on_record, duration_s=0.3)
    finally:
        board.quit.set()
        board.join(timeout=10)
    assert len(got) == stats.records
    numbers = [record.values["k"] for record in got if "k" in record.values]
    assert len(numbers) > 100 and numbers == list(range(len(numbers)))


def test_run_monitor_on_a_missing_port_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError) as raised:
        run_monitor(str(tmp_path / "ttyUSB7"), parsers=registry().parsers(), duration_s=1)
    assert raised.value.message == f"{tmp_path / 'ttyUSB7'}: no such port"


TRANSCRIPTS = Path(__file__).parent / "transcripts"


def test_prediction_blocks_are_not_malformed_and_the_last_block_comes_at_stop(
    pty_port: PtyPort, streams: list[MonitorStream]
) -> None:
    """Edge Impulse firmware blocks between `92% idle` lines: the lines of a block give no record
    of their own and the others are not blocks, yet nothing is malformed (the parser counts
    none); a last block the board stopped after is handed over by the parser's flush() at stop."""
    transcript = (TRANSCRIPTS / "edge_impulse_firmware.txt").read_bytes()
    last = b"Predictions (DSP: 17 ms., Classification: 2 ms., Anomaly: 0 ms.): \n#Classification results:\n"
    last += b"    idle: 0.5\n    snake: 0.25\n    updown: 0.125\n    wave: 0.125\n"
    stream = start(streams, pty_port.path)
    pty_port.write(transcript + last)
    wait_for(lambda: stream.stats().records == 4, "the four blocks of the transcript")
    wait_for(lambda: stream.stats().lines == transcript.count(b"\n") + 6, "every line")
    assert stream.stats().records == 4  # the last block waits for a line after it
    stream.stop()
    stats = stream.stats()
    assert (stats.parser, stats.records, stats.malformed, stats.unreadable) == ("blocks", 5, 0, 0)
    assert stream.recent(1)[0].values == {
        "dsp_ms": 17.0,
        "classification_ms": 2.0,
        "anomaly_ms": 0.0,
        "idle": 0.5,
        "snake": 0.25,
        "updown": 0.125,
        "wave": 0.125,
    }


def test_malformed_counts_what_the_parser_could_not_read_and_a_line_cut_by_stop(
    pty_port: PtyPort, streams: list[MonitorStream]
) -> None:
    """CSV with a header: a row of two fields where the header names three is malformed; a line
    of text between rows is not data; the row the board was printing when the monitor stopped
    is cut: malformed. The line of text is unreadable (not data once data has started)."""
    rows = [b"%d,%d.5,-%d\n" % (i, i, i) for i in range(40)]
    data = b"ax,ay,az\n" + b"".join(rows[:20]) + b"7,8\nsensor recalibrated\n" + b"".join(rows[20:]) + b"41,4"
    stream = start(streams, pty_port.path)
    pty_port.write(data)
    wait_for(lambda: stream.stats().records == 40, "40 rows")
    wait_for(lambda: stream.stats().bytes == len(data), "every byte")
    stream.stop()
    stats = stream.stats()
    assert (stats.parser, stats.channels, stats.lines, stats.records, stats.malformed) == (
        "csv",
        ["ax", "ay", "az"],
        43,
        40,
        2,
    )
    assert stats.unreadable == 1
    assert column(stream, "ay") == [i + 0.5 for i in range(40)]


def plotter_lines(first: int, count: int) -> bytes:
    return b"".join(b"idle:%d wave:-%d\n" % (i, i) for i in range(first, first + count))


def test_the_tail_of_a_line_cut_by_opening_the_port_is_dropped(
    pty_port: PtyPort, streams: list[MonitorStream], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The port opens while the board is printing `idle:... wave:...`: the first line read is
    `le:0.5 wave:0.5`, which would be a channel `le`. It is dropped and counted apart; the
    whole lines after it all arrive."""
    monkeypatch.setattr(first_line, "TAIL_WINDOW_S", 60.0)  # however late this thread runs
    stream = start(streams, pty_port.path)
    pty_port.write(b"le:0.5 wave:0.5\n" + plotter_lines(0, 30))
    wait_for(lambda: stream.stats().records == 30, "30 records")
    stream.stop()
    stats = stream.stats()
    assert (stats.channels, stats.lines, stats.malformed, stats.dropped_partial) == (["idle", "wave"], 31, 0, 1)
    assert column(stream, "idle") == list(range(30))


def test_a_whole_first_line_is_kept(
    pty_port: PtyPort, streams: list[MonitorStream], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A board that starts printing as the port opens: its first line has the shape of the next
    (numbers aside) and is kept, so nothing is lost."""
    monkeypatch.setattr(first_line, "TAIL_WINDOW_S", 60.0)
    stream = start(streams, pty_port.path)
    pty_port.write(b"idle:123.5 wave:-1e-3\n" + plotter_lines(0, 29))
    wait_for(lambda: stream.stats().records == 30, "30 records")
    assert (stream.stats().dropped_partial, column(stream, "idle")[0]) == (0, 123.5)


def test_a_first_line_begun_after_the_port_opened_is_whole_whatever_its_shape(
    pty_port: PtyPort, streams: list[MonitorStream], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bytes that came later than TAIL_WINDOW_S after opening began after it: nothing is dropped,
    even a first line shaped like a tail."""
    monkeypatch.setattr(first_line, "TAIL_WINDOW_S", 0.0)
    stream = start(streams, pty_port.path)
    pty_port.write(b"le:0.5 wave:0.5\n" + plotter_lines(0, 30))
    wait_for(lambda: stream.stats().records == 31, "31 records")
    assert stream.stats().dropped_partial == 0 and stream.stats().channels == ["le", "wave", "idle"]


def test_after_a_replug_the_tail_of_a_line_is_dropped_again(
    pty_port: PtyPort, streams: list[MonitorStream], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The board goes on printing while unplugged; the replugged port opens in the middle of a
    line: its tail (`ave:-7`) is dropped, the first line after opening the first time was whole."""
    monkeypatch.setattr(first_line, "TAIL_WINDOW_S", 60.0)
    stream = start(streams, pty_port.path)
    pty_port.write(plotter_lines(0, 30))
    wait_for(lambda: stream.stats().records == 30, "the records before the unplug")
    pty_port.unplug()
    wait_for(lambda: not stream.stats().connected, "the unplug to be noticed")
    pty_port.plug()
    wait_for(lambda: stream.stats().connected, "the reconnect")
    pty_port.write(b"ave:-7\n" + plotter_lines(30, 30))
    wait_for(lambda: stream.stats().records == 60, "the records after the replug")
    stream.stop()
    stats = stream.stats()
    assert (stats.channels, stats.malformed, stats.dropped_partial, stats.reconnects) == (["idle", "wave"], 0, 1, 1)
    assert [v for v in column(stream, "idle") if not math.isnan(v)] == list(range(60))


def test_a_board_printing_one_line_is_recognised_and_shown(
    pty_port: PtyPort, streams: list[MonitorStream], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A board that prints one `label:value label:value` line a second, or less often: its first
    line waits for a next one to be judged by (at most TAIL_WAIT_S), is recognised alone once
    DETECT_S has passed, and becomes a record - no second line needed."""
    monkeypatch.setattr(first_line, "TAIL_WINDOW_S", 60.0)
    stream = start(streams, pty_port.path)
    pty_port.write(b"idle:0.98047 wave:0.01953\n")
    wait_for(lambda: stream.stats().records == 1, "the record of the one line")
    stats = stream.stats()
    assert (stats.parser, stats.channels, stats.dropped_partial) == ("arduino", ["idle", "wave"], 0)


def test_the_recording_reaches_the_disk_while_the_board_is_quiet(
    pty_port: PtyPort, streams: list[MonitorStream], tmp_path: Path
) -> None:
    """Five records, then silence: the rows are on disk within about a second, before stop."""
    path = tmp_path / "quiet.csv"
    stream = start(streams, pty_port.path, parser="arduino", record=path)
    pty_port.write(b"".join(b"v:%d\n" % i for i in range(5)))
    wait_for(lambda: path.read_text().count("\n") == 6, "the header and 5 rows on disk")
    assert stream.running
    assert path.read_text().splitlines()[1:] == [f"{record.time!r},{i}.0," for i, record in enumerate(stream.recent())]


def test_a_socket_url_is_read_in_large_chunks_and_arrives_whole(
    board_server: tuple[str, queue.Queue[socket.socket]],
    streams: list[MonitorStream],
) -> None:
    """20,000 CSV rows over socket:// (pyserial's socket port tells only whether a byte waits):
    every row becomes a record, read in blocks, not a byte a read."""
    url, accepted = board_server
    stream = start(streams, url)
    rows = b"".join(b"%d,%d.25,-%d\n" % (i, i, i) for i in range(20_000))
    board = accepted.get(timeout=10)
    try:
        board.sendall(rows)
        wait_for(lambda: stream.stats().records == 20_000, "20,000 records")
    finally:
        board.close()
    stats = stream.stats()
    assert (stats.malformed, stats.dropped_partial, stats.bytes) == (0, 0, len(rows))
    assert column(stream, "column 1") == list(range(20_000))
