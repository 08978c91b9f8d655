"""CsvRecorder and read_recording: recordings on disk (workbench/monitor/recorder.py)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from workbench.core.errors import WorkbenchError
from workbench.monitor import recorder as recorder_module
from workbench.monitor.parse import Batch, Columns, Record
from workbench.monitor.recorder import CsvRecorder, read_recording

DEADLINE_S = 10.0  # generous: the machine is shared; tests wait for conditions, never for durations


def wait_until(condition: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def lines_on_disk(path: Path) -> list[str]:
    """What another program reading the file sees now."""
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def assert_same_records(got: list[Record], expected: list[Record]) -> None:
    """Equal records, NaN equal to NaN."""
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert (a.time, a.events, list(a.values)) == (b.time, b.events, list(b.values))
        for name, value in b.values.items():
            assert a.values[name] == value or (math.isnan(a.values[name]) and math.isnan(value))


def test_header_rows_events_column_and_gap_row(tmp_path: Path) -> None:
    path = tmp_path / "run.csv"
    with CsvRecorder(path) as recorder:
        recorder.write([Record(0.5, {"a": 1.5, "b": -2.0}), Record(0.75, {"a": 3.0}, ("yes",))])
        recorder.write([Record(1.0, {}, ("no", "up")), Record(1.25, {"b": math.nan, "a": math.inf})])
        recorder.gap(2.0)
        recorder.write([Record(3.0, {"a": 0.1, "b": 1e-7})])
    assert lines_on_disk(path) == [
        "time,a,b,events",
        "0.5,1.5,-2.0,",
        "0.75,3.0,,yes",
        "1.0,,,no;up",
        "1.25,inf,nan,",
        "2.0,,,disconnected",
        "3.0,0.1,1e-07,",
    ]
    assert recorder.rows == 6
    assert recorder.bytes_written == path.stat().st_size
    assert recorder.parts == [path]


def test_an_empty_recording_still_has_its_header(tmp_path: Path) -> None:
    path = tmp_path / "nothing.csv"
    CsvRecorder(path).close()
    assert lines_on_disk(path) == ["time,events"]
    assert read_recording(path) == []


def test_rows_reach_the_disk_within_about_a_second_without_close(tmp_path: Path) -> None:
    """While a stream writes, another program sees the rows on disk long before close()."""
    path = tmp_path / "live.csv"
    recorder = CsvRecorder(path)
    stop = threading.Event()

    def stream() -> None:
        count = 0
        while not stop.is_set():
            recorder.write([Record(count * 0.01, {"x": float(count)})])
            count += 1
            time.sleep(0.01)

    writer = threading.Thread(target=stream)
    writer.start()
    try:
        wait_until(lambda: len(lines_on_disk(path)) >= 3, "rows on disk")
        on_disk = lines_on_disk(path)
        assert on_disk[0] == "time,x,events"
        assert on_disk[1] == "0.0,0.0,"
    finally:
        stop.set()
        writer.join()
        recorder.close()
    assert len(lines_on_disk(path)) == recorder.rows + 1


def test_an_idle_stream_flushes_by_writing_nothing(tmp_path: Path) -> None:
    """write([]) (what a stream calls when no line came for a moment) flushes once a flush is due."""
    path = tmp_path / "idle.csv"
    recorder = CsvRecorder(path)
    recorder.write([Record(1.0, {"x": 2.0})])

    def flushed() -> bool:
        recorder.write([])
        return lines_on_disk(path) == ["time,x,events", "1.0,2.0,"]

    wait_until(flushed, "the row on disk")
    recorder.close()


def test_a_gap_is_on_disk_at_once(tmp_path: Path) -> None:
    """An unplugged cable: the rows before it and the gap row are flushed when the gap is written."""
    path = tmp_path / "unplugged.csv"
    recorder = CsvRecorder(path)
    recorder.write([Record(1.0, {"x": 2.0})])
    recorder.gap(1.5)
    assert lines_on_disk(path) == ["time,x,events", "1.0,2.0,", "1.5,,disconnected"]
    recorder.close()


def test_channels_seen_before_the_first_flush_are_all_in_the_header(tmp_path: Path) -> None:
    path = tmp_path / "run.csv"
    with CsvRecorder(path) as recorder:
        recorder.write([Record(0.0, {"a": 1.0})])
        recorder.write([Record(0.1, {"b": 2.0, "a": 3.0})])
    assert lines_on_disk(path) == ["time,a,b,events", "0.0,1.0,,", "0.1,3.0,2.0,"]
    assert recorder.parts == [path]


def test_the_header_waits_for_records_not_for_the_clock(tmp_path: Path) -> None:
    """A recording started long before the board prints: its header still names the channels of
    the first records, not only those of the very first one."""
    path = tmp_path / "waited.csv"
    with CsvRecorder(path) as recorder:
        time.sleep(0.6)  # longer than a flush interval (a pause, not a measurement)
        recorder.write([Record(0.0, {"a": 1.0})])
        recorder.write([Record(0.1, {"a": 2.0, "b": 3.0})])
    assert lines_on_disk(path)[0] == "time,a,b,events"
    assert recorder.parts == [path]


def test_a_channel_after_the_header_starts_a_wider_part_read_back_as_one_recording(tmp_path: Path) -> None:
    path = tmp_path / "run.csv"
    records = [
        Record(0.0, {"a": 1.0}),
        Record(1.0, {"a": 2.0}),  # after the gap: the header is on disk by then
        Record(2.0, {"a": 3.0, "late": 30.0}, ("yes",)),
        Record(3.0, {"a": 4.0}),
        Record(4.0, {"later": 5.0}),
    ]
    with CsvRecorder(path) as recorder:
        recorder.write(records[:1])
        recorder.gap(0.5)
        recorder.write(records[1:])
    part2, part3 = tmp_path / "run.part2.csv", tmp_path / "run.part3.csv"
    assert recorder.parts == [path, part2, part3]
    assert lines_on_disk(path) == ["time,a,events", "0.0,1.0,", "0.5,,disconnected", "1.0,2.0,"]
    assert lines_on_disk(part2) == ["time,a,late,events", "2.0,3.0,30.0,yes", "3.0,4.0,,"]
    assert lines_on_disk(part3) == ["time,a,late,later,events", "4.0,,,5.0,"]
    assert recorder.bytes_written == sum(p.stat().st_size for p in recorder.parts)
    assert_same_records(read_recording(path), [*records[:1], Record(0.5, {}, ("disconnected",)), *records[1:]])


def test_parts_of_an_earlier_recording_at_the_same_path_are_removed(tmp_path: Path) -> None:
    folder = tmp_path / "recordings"
    folder.mkdir()
    path = folder / "run.csv"
    for name in ("run.part2.csv", "run.part3.csv"):
        (folder / name).write_text("time,old,events\n9.0,9.0,\n")
    with CsvRecorder(path) as recorder:
        recorder.write([Record(0.0, {"a": 1.0})])
    assert sorted(p.name for p in folder.iterdir()) == ["run.csv"]
    assert read_recording(path) == [Record(0.0, {"a": 1.0})]


def test_read_recording_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "round.csv"
    records = [
        Record(0.001, {"value 1": 0.1, "temp,C": -273.15, "x": math.nan}),
        Record(0.002, {"value 1": 1e300, "x": -math.inf}, ("yes",)),
        Record(0.003, {}, ("no", "left")),
        Record(1234567.891011, {"temp,C": 5e-324}),
    ]
    with CsvRecorder(path) as recorder:
        recorder.write(records[:2])
        recorder.gap(0.0025)
        recorder.write(records[2:])
    expected = [*records[:2], Record(0.0025, {}, ("disconnected",)), *records[2:]]
    got = read_recording(path)
    assert_same_records(got, expected)
    assert list(got[0].values) == ["value 1", "temp,C", "x"]


def test_a_last_row_cut_by_a_crash_is_left_out(tmp_path: Path) -> None:
    path = tmp_path / "crashed.csv"
    path.write_text("time,a,b,events\n0.0,1.0,2.0,\n1.0,3.0,4.0,yes\n2.0,5.")
    assert read_recording(path) == [Record(0.0, {"a": 1.0, "b": 2.0}), Record(1.0, {"a": 3.0, "b": 4.0}, ("yes",))]


def test_a_csv_without_an_events_column_reads_too(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("time,a\n0.0,1.0\n")
    assert read_recording(path) == [Record(0.0, {"a": 1.0})]


def one_sentence(error: WorkbenchError, *names: object) -> None:
    message = error.message
    assert "\n" not in message and message.endswith(".") and message.count(". ") == 0, message
    for name in names:
        assert str(name) in message


def test_a_path_under_a_regular_file_cannot_be_written_one_sentence_at_open(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    path = blocker / "run.csv"
    with pytest.raises(WorkbenchError) as caught:
        CsvRecorder(path)
    one_sentence(caught.value, path)


def test_a_path_in_proc_cannot_be_written_one_sentence_at_open() -> None:
    path = Path("/proc/workbench-recording.csv")
    with pytest.raises(WorkbenchError) as caught:
        CsvRecorder(path)
    one_sentence(caught.value, path)


def test_missing_folders_are_made(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "run.csv"
    with CsvRecorder(path) as recorder:
        recorder.write([Record(0.0, {"a": 1.0})])
    assert read_recording(path) == [Record(0.0, {"a": 1.0})]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("a,b\n1,2\n", ("first line",)),
        ("time,a,events\n0.0,zero,\n1.0,1.0,\n", ("line 2", "'zero'")),
        ("time,a,events\n0.0,1.0,,,\n1.0,1.0,\n", ("line 2",)),
    ],
)
def test_reading_what_is_not_a_recording_says_where_in_one_sentence(
    tmp_path: Path, text: str, names: tuple[str, ...]
) -> None:
    path = tmp_path / "other.csv"
    path.write_text(text)
    with pytest.raises(WorkbenchError) as caught:
        read_recording(path)
    one_sentence(caught.value, path, *names)


def test_reading_a_missing_recording_says_so(tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError) as caught:
        read_recording(tmp_path / "none.csv")
    one_sentence(caught.value, tmp_path / "none.csv")


def test_close_from_another_thread_while_writing_loses_no_row_written_before(tmp_path: Path) -> None:
    """The GUI stops a recording while the stream writes: every write() that returned is on disk."""
    path = tmp_path / "stopped.csv"
    recorder = CsvRecorder(path)
    written = 0
    started = threading.Event()

    def stream() -> None:
        nonlocal written
        for count in range(100_000):
            recorder.write([Record(float(count), {"x": float(count)})])
            written = count + 1
            started.set()

    writer = threading.Thread(target=stream)
    writer.start()
    started.wait(DEADLINE_S)
    returned_before_close = written
    recorder.close()
    writer.join()
    got = read_recording(path)
    assert len(got) >= returned_before_close > 0
    assert got == [Record(float(i), {"x": float(i)}) for i in range(len(got))]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a device that is always full)")
def test_a_full_disk_while_recording_is_one_sentence_and_ends_the_recording() -> None:
    recorder = CsvRecorder(Path("/dev/full"))
    recorder.write([Record(0.0, {"a": 1.0})])
    with pytest.raises(WorkbenchError) as caught:
        recorder.gap(1.0)
    one_sentence(caught.value, "/dev/full")
    recorder.write([Record(2.0, {"a": 1.0})])  # after the failure: ignored, not raised again
    recorder.close()


def test_a_batch_in_columns_is_written_as_its_records_would_be(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Columns (several times in one part, nan, inf, -0.0, the smallest and largest floats, a
    channel the header lacks, which starts a part), records with events, a gap: the files are
    byte for byte those of writing the same records, and they read back as those records."""
    monkeypatch.setattr(recorder_module, "FLUSH_INTERVAL_S", 1e9)  # flushes at gap() and close() only
    times = np.array([0.5, 0.5, 0.75, 1.0, 1.0, 1.0])
    first = Columns(times, {"a": np.array([1.5, -0.0, np.nan, 1e-7, 5e-324, 1e300]), "b": -times})
    batch = Batch()
    batch.add_columns(first)
    batch.add([Record(1.25, {"a": 2.0}, ("yes", "no")), Record(1.5, {}, ("up",))])
    later = Batch.of_columns(np.array([3.0, 3.25]), {"b": np.array([np.inf, -np.inf]), "c,d": np.array([0.1, 2.0])})
    by_columns, by_records = tmp_path / "columns.csv", tmp_path / "records.csv"
    with CsvRecorder(by_columns) as columnar, CsvRecorder(by_records) as rows:
        columnar.write_batch(batch)
        rows.write(batch.records())
        columnar.gap(2.0)
        rows.gap(2.0)
        columnar.write_batch(later)
        rows.write(later.records())
    assert columnar.parts == [by_columns, tmp_path / "columns.part2.csv"]
    for mine, theirs in zip(columnar.parts, rows.parts, strict=True):
        assert mine.read_bytes() == theirs.read_bytes()
    assert lines_on_disk(by_columns)[:3] == ["time,a,b,events", "0.5,1.5,-0.5,", "0.5,-0.0,-0.5,"]
    assert columnar.rows == rows.rows == 11 and columnar.bytes_written == rows.bytes_written
    expected = [*batch.records(), Record(2.0, {}, ("disconnected",)), *later.records()]
    assert_same_records(read_recording(by_columns), expected)


def test_tick_flushes_once_a_flush_is_due(tmp_path: Path) -> None:
    """What a stream calls while the board is quiet: rows written earlier reach the disk."""
    path = tmp_path / "quiet.csv"
    recorder = CsvRecorder(path)
    recorder.write_batch(Batch.of_columns(np.array([1.0]), {"x": np.array([2.0])}))

    def flushed() -> bool:
        recorder.tick()
        return lines_on_disk(path) == ["time,x,events", "1.0,2.0,"]

    wait_until(flushed, "the row on disk")
    recorder.close()
