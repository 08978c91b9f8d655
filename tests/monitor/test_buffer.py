"""SampleBuffer: the ring buffer the Monitor page plots from (workbench/monitor/buffer.py)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from workbench.monitor.buffer import FIRST_BLOCK_ROWS, SampleBuffer
from workbench.monitor.parse import Batch, Columns, Record


def rows(start: int, stop: int, channels: tuple[str, ...] = ("a", "b")) -> list[Record]:
    """Records at times start..stop-1 whose channel k holds time * (k + 1): every row checkable."""
    return [Record(float(i), {name: float(i * (k + 1)) for k, name in enumerate(channels)}) for i in range(start, stop)]


def assert_rows(buffer: SampleBuffer, first: int, stop: int) -> None:
    """The buffer holds exactly the rows first..stop-1 made by rows(), oldest first."""
    times, values = buffer.view()
    np.testing.assert_array_equal(times, np.arange(first, stop, dtype=np.float64))
    np.testing.assert_array_equal(values["a"], times)
    np.testing.assert_array_equal(values["b"], 2 * times)


def test_wrap_around_at_capacity_keeps_the_newest_rows_in_order() -> None:
    buffer = SampleBuffer(capacity=10)
    done = 0
    for size in (3, 7, 1, 14, 2):  # batches that end exactly at, inside and beyond the ring's end
        buffer.append(rows(done, done + size))
        done += size
        assert buffer.size == min(done, 10)
        assert_rows(buffer, max(0, done - 10), done)
    assert buffer.total == done == 27


def test_a_batch_larger_than_the_capacity_keeps_its_newest_rows() -> None:
    buffer = SampleBuffer(capacity=10)
    buffer.append(rows(0, 4))
    buffer.append(rows(4, 29))
    assert_rows(buffer, 19, 29)
    assert buffer.total == 29


def test_storage_grows_in_blocks_then_wraps() -> None:
    """A capacity beyond the first block: the buffer grows, keeps every row, then drops the oldest."""
    capacity = 3 * FIRST_BLOCK_ROWS + 5
    buffer = SampleBuffer(capacity=capacity)
    done = 0
    while done < capacity + 2 * FIRST_BLOCK_ROWS:
        buffer.append(rows(done, done + 999))
        done += 999
        assert_rows(buffer, max(0, done - capacity), done)


def test_single_records_wrap_like_batches() -> None:
    buffer = SampleBuffer(capacity=5)
    for i in range(12):
        buffer.append(rows(i, i + 1))
    assert_rows(buffer, 7, 12)


def test_default_capacity_holds_a_million_samples_per_channel() -> None:
    buffer = SampleBuffer()
    assert buffer.capacity >= 1_000_000
    total = buffer.capacity + 5
    batch = 50_000
    for start in range(0, total, batch):
        stop = min(total, start + batch)
        buffer.append([Record(float(i), {"a": float(i)}) for i in range(start, stop)])
    times, values = buffer.view()
    assert buffer.size == len(times) == buffer.capacity
    assert times[0] == 5 and times[-1] == total - 1
    np.testing.assert_array_equal(values["a"], times)


def test_64_channels() -> None:
    names = tuple(f"ch{k}" for k in range(64))
    buffer = SampleBuffer(capacity=1000)
    buffer.append(rows(0, 1500, names))
    times, values = buffer.view()
    assert buffer.channels == list(names)
    for k, name in enumerate(names):
        np.testing.assert_array_equal(values[name], times * (k + 1))
    assert times[0] == 500


def test_a_channel_that_appears_later_is_nan_before_it() -> None:
    buffer = SampleBuffer(capacity=100)
    buffer.append(rows(0, 5, ("a",)))
    buffer.append([Record(5.0, {"a": 5.0, "late": 50.0}), Record(6.0, {"late": 60.0, "a": 6.0})])
    times, values = buffer.view()
    assert buffer.channels == ["a", "late"]
    np.testing.assert_array_equal(values["a"], times)
    assert np.isnan(values["late"][:5]).all()
    np.testing.assert_array_equal(values["late"][5:], [50.0, 60.0])


def test_a_record_without_a_channel_is_nan_there() -> None:
    """In a batch whose records name different channels, each row keeps only its own values."""
    buffer = SampleBuffer(capacity=100)
    buffer.append([Record(0.0, {"a": 1.0}), Record(1.0, {"b": 2.0}), Record(2.0, {"a": 3.0, "b": 4.0})])
    buffer.append([Record(3.0, {"b": 5.0})])
    _, values = buffer.view()
    np.testing.assert_array_equal(values["a"], [1.0, np.nan, 3.0, np.nan])
    np.testing.assert_array_equal(values["b"], [np.nan, 2.0, 4.0, 5.0])


def test_a_gap_is_a_row_of_nan_in_every_channel() -> None:
    buffer = SampleBuffer(capacity=100)
    buffer.append(rows(0, 3))
    buffer.mark_gap(3.5)
    buffer.append(rows(4, 6))
    times, values = buffer.view()
    np.testing.assert_array_equal(times, [0, 1, 2, 3.5, 4, 5])
    assert buffer.total == 6
    for name in ("a", "b"):
        assert np.isnan(values[name]).tolist() == [False, False, False, True, False, False]


def test_view_last_s_is_a_window_back_from_the_newest_time_even_across_the_ring_end() -> None:
    buffer = SampleBuffer(capacity=50)
    buffer.append(rows(0, 73))  # the ring wrapped: its rows sit in two pieces of storage
    times, values = buffer.view(last_s=30.0)
    np.testing.assert_array_equal(times, np.arange(42, 73, dtype=np.float64))
    np.testing.assert_array_equal(values["b"], 2 * times)
    for last_s, first in ((0.0, 72), (4.5, 68), (22.0, 50), (49.0, 23), (1e9, 23)):
        assert buffer.view(last_s=last_s)[0][0] == first


def test_view_of_some_channels_and_of_an_unknown_one() -> None:
    buffer = SampleBuffer(capacity=50)
    buffer.append(rows(0, 10))
    times, values = buffer.view(["b", "nobody"], last_s=2.0)
    assert list(values) == ["b", "nobody"]
    np.testing.assert_array_equal(times, [7.0, 8.0, 9.0])
    np.testing.assert_array_equal(values["b"], [14.0, 16.0, 18.0])
    assert len(values["nobody"]) == 3 and np.isnan(values["nobody"]).all()


def test_view_of_an_empty_buffer() -> None:
    times, values = SampleBuffer(capacity=10).view(["a"], last_s=5.0)
    assert len(times) == 0 and len(values["a"]) == 0


def test_view_hands_out_copies() -> None:
    buffer = SampleBuffer(capacity=10)
    buffer.append(rows(0, 5))
    times, values = buffer.view()
    times[:] = -1.0
    values["a"][:] = -1.0
    buffer.append(rows(5, 15))  # overwrites every storage slot the first view came from
    assert_rows(buffer, 5, 15)


def test_events_are_kept_bounded_and_windowed_and_add_no_rows() -> None:
    buffer = SampleBuffer(capacity=100, events_capacity=4)
    buffer.append([Record(0.0, {"a": 0.0}, ("yes",)), Record(1.0, {}, ("no", "yes"))])
    buffer.append([Record(2.0, {}, ("up",)), Record(3.0, {}, ("down",)), Record(4.0, {"a": 4.0}, ("left",))])
    assert buffer.size == 2  # the records with values only
    assert buffer.total == 5  # every record counts: a screen redraws the timeline on events alone
    assert buffer.events() == [(1.0, "yes"), (2.0, "up"), (3.0, "down"), (4.0, "left")]
    assert buffer.events(last_s=1.5) == [(3.0, "down"), (4.0, "left")]
    buffer.append([Record(9.0, {}, ("right",))])  # an event moves the newest time too
    assert buffer.events(last_s=1.0) == [(9.0, "right")]
    assert len(buffer.view(last_s=6.0)[0]) == 1


def test_clear_forgets_rows_channels_and_events_but_not_the_count() -> None:
    buffer = SampleBuffer(capacity=10)
    buffer.append([*rows(0, 20), Record(20.0, {}, ("yes",))])
    buffer.clear()
    assert buffer.size == 0 and buffer.channels == [] and buffer.events() == []
    assert buffer.total == 21
    buffer.append(rows(30, 32, ("c",)))
    times, values = buffer.view()
    np.testing.assert_array_equal(times, [30.0, 31.0])
    assert list(values) == ["c"]


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        SampleBuffer(capacity=0)


def test_a_reader_viewing_while_a_writer_thread_appends_sees_whole_rows() -> None:
    """Every view is consistent: times in order, every channel as long as the times, and each
    row's values those of its own record (no row half written), while the ring wraps."""
    buffer = SampleBuffer(capacity=3000)
    total = 200_000
    failures: list[BaseException] = []

    def write() -> None:
        try:
            for start in range(0, total, 700):
                buffer.append(rows(start, min(total, start + 700)))
            buffer.append(rows(total, total + 1))  # one more, alone: the single-record path
        except BaseException as error:  # noqa: BLE001 - handed to the test's thread
            failures.append(error)

    writer = threading.Thread(target=write)
    writer.start()
    views = 0
    while writer.is_alive() or views == 0:
        times, values = buffer.view(last_s=None if views % 2 else 1000.0)
        views += 1
        assert len(values["a"]) == len(values["b"]) == len(times) <= 3000
        assert (np.diff(times) > 0).all()
        np.testing.assert_array_equal(values["a"], times)
        np.testing.assert_array_equal(values["b"], 2 * times)
    writer.join()
    assert not failures
    assert_rows(buffer, total + 1 - 3000, total + 1)
    assert buffer.total == total + 1


def columns(start: int, stop: int, names: tuple[str, ...] = ("a", "b")) -> Columns:
    """The records rows(start, stop, names) makes, in columnar form."""
    times = np.arange(start, stop, dtype=np.float64)
    return Columns(times, {name: times * (k + 1) for k, name in enumerate(names)})


@pytest.mark.parametrize("capacity", [10_000, 50, 7])
def test_a_batch_in_columns_is_held_as_its_records_would_be(capacity: int) -> None:
    """Columns parts, records with events only, a channel that appears later (in columns and in
    records) and a part larger than the buffer: the same rows, channels, events and total as
    appending the records one batch at a time, wrapping or not."""
    batch = Batch()
    batch.add_columns(columns(0, 30))
    batch.add([Record(30.0, {}, ("yes",)), Record(31.0, {"a": 31.0, "late": -1.0}, ("no",))])
    batch.add_columns(columns(32, 40, ("late", "a")))
    batch.add([Record(40.0, {"b": 80.0})])
    second = Batch.of_columns(np.arange(41, 45, dtype=np.float64), {"b": np.full(4, np.nan)})
    by_columns, by_records = SampleBuffer(capacity=capacity), SampleBuffer(capacity=capacity)
    for part in (batch, second):
        by_columns.append_batch(part)
        by_records.append(part.records())
    times, values = by_columns.view()
    expected_times, expected_values = by_records.view()
    np.testing.assert_array_equal(times, expected_times)
    assert list(values) == list(expected_values) == ["a", "b", "late"]
    for name in values:
        np.testing.assert_array_equal(values[name], expected_values[name])
    assert by_columns.events() == by_records.events() == [(30.0, "yes"), (31.0, "no")]
    assert by_columns.total == by_records.total == 45
    assert len(times) == min(capacity, 44)  # the events-only record adds no row


def test_an_empty_batch_changes_nothing() -> None:
    buffer = SampleBuffer(capacity=10)
    buffer.append_batch(Batch())
    assert buffer.total == 0 and buffer.size == 0
