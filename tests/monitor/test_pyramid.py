"""The min/max pyramid behind SampleBuffer.overview(), checked against brute force.

Every reduced answer must say, for each stretch it draws, exactly the minimum and the maximum of
the samples held in that stretch (NaN only where the stretch has no value at all), whatever the
level the pyramid answered from: tested across ring wrap-around (capacities that are not a
multiple of a block), a batch larger than the ring, channels that appear later, gaps, windows by
time and by range, and many widths.
"""

from __future__ import annotations

import numpy as np
import pytest

from workbench.monitor.buffer import REDUCE_ABOVE, SampleBuffer
from workbench.monitor.parse import Batch, Columns, Record
from workbench.monitor.pyramid import FACTOR, peak_decimate


def assert_matches_brute_force(
    buffer: SampleBuffer, buckets: int, last_s: float | None = None, between: tuple[float, float] | None = None
) -> bool:
    """overview() against the rows view() gives; returns whether it was reduced."""
    times, values = buffer.view(last_s=last_s)
    if between is not None:  # overview() keeps one more row on each side
        first = max(int(np.searchsorted(times, between[0], "left")) - 1, 0)
        end = min(int(np.searchsorted(times, between[1], "right")) + 1, times.size)
        times, values = times[first:end], {name: column[first:end] for name, column in values.items()}
    got_times, got, reduced = buffer.overview(buckets, last_s=last_s, between=between)
    assert list(got) == list(values)
    if not reduced:
        assert times.size <= REDUCE_ABOVE * buckets
        np.testing.assert_array_equal(got_times, times)
        for name in values:
            np.testing.assert_array_equal(got[name], values[name])
        return False
    assert times.size > REDUCE_ABOVE * buckets
    assert got_times.size % 2 == 0 and got_times.size <= 2 * (buckets + 2)
    starts = got_times[::2]
    np.testing.assert_array_equal(got_times[1::2], starts)
    assert starts[0] == times[0] and (np.diff(starts) > 0).all()
    bounds = np.searchsorted(times, starts, "left")
    np.testing.assert_array_equal(times[bounds], starts)  # every stretch begins at a row held
    edges = [*bounds.tolist(), times.size]
    for name, column in values.items():
        expected_low = [np.fmin.reduce(column[a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)]
        expected_high = [np.fmax.reduce(column[a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)]
        pairs = got[name].reshape(-1, 2)  # each stretch's two points: its minimum and its maximum
        np.testing.assert_array_equal(np.fmin.reduce(pairs, axis=1), np.asarray(expected_low, dtype=np.float32), name)
        np.testing.assert_array_equal(np.fmax.reduce(pairs, axis=1), np.asarray(expected_high, dtype=np.float32), name)
        finite = np.isfinite(pairs).all(axis=1)
        # Drawn in alternating order (minimum first, then maximum first...), so the line between
        # stretches runs along the band's edge.
        assert (pairs[0::2][finite[0::2], 0] <= pairs[0::2][finite[0::2], 1]).all()
        assert (pairs[1::2][finite[1::2], 0] >= pairs[1::2][finite[1::2], 1]).all()
        assert np.array_equal(np.fmax.reduce(got[name]), np.fmax.reduce(column), equal_nan=True)
    return True


def signals(start: int, count: int, seed: int) -> Columns:
    """Rows timed start..start+count-1 (at 100 Hz): a noisy sine, a spiky channel and a channel
    with stretches of NaN (a board that printed nan)."""
    rng = np.random.default_rng(seed)
    times = (np.arange(start, start + count) / 100.0).astype(np.float64)
    wave = np.sin(times) + rng.standard_normal(count) * 0.1
    spikes = np.where(rng.random(count) < 0.001, rng.standard_normal(count) * 50.0, 0.0)
    holes = rng.standard_normal(count)
    holes[(np.arange(start, start + count) // 300) % 4 == 0] = np.nan
    return Columns(times, {"wave": wave, "spikes": spikes, "holes": holes})


def filled(capacity: int, rows: int, seed: int = 1) -> SampleBuffer:
    """A buffer fed `rows` rows in batches of uneven sizes, single records and gaps among them."""
    buffer = SampleBuffer(capacity)
    rng = np.random.default_rng(seed)
    done = 0
    while done < rows:
        size = int(rng.choice([1, 3, FACTOR - 1, FACTOR, 257, 4099, 33_333]))
        size = min(size, rows - done)
        part = signals(done, size, seed + done)
        if size == 1:
            buffer.append(part.records())
        elif rng.random() < 0.05:
            buffer.mark_gap(float(part.times[0]))  # a disconnect, then the records as Record objects
            buffer.append(part.records(1))
        else:
            buffer.append_batch(Batch.of_columns(part.times, part.values))
        done += size
    return buffer


@pytest.mark.parametrize(("capacity", "rows"), [(100_003, 350_000), (65_536, 65_536 + 4097), (5_000, 4_000)])
def test_overview_is_the_brute_force_minimum_and_maximum_of_every_stretch(capacity: int, rows: int) -> None:
    buffer = filled(capacity, rows)
    reduced = [assert_matches_brute_force(buffer, buckets) for buckets in (1, 7, 100, 640, 1441, 5000)]
    assert any(reduced)
    newest = float(buffer.view(last_s=0.0)[0][-1])
    for last_s in (5.0, 60.0, 700.0):
        assert_matches_brute_force(buffer, 300, last_s=last_s)
    for low, high in ((newest - 900.0, newest - 100.0), (newest - 50.0, newest - 49.0), (-5.0, 1e9)):
        assert_matches_brute_force(buffer, 300, between=(low, high))


def test_a_batch_larger_than_the_ring_and_a_channel_that_appears_later() -> None:
    buffer = SampleBuffer(10_007)
    buffer.append_batch(Batch.of_columns(*_parts(signals(0, 25_000, 3))))  # more than the ring holds
    late = signals(25_000, 5_000, 4)  # the ring then holds 5,007 rows without it, 5,000 with it
    late.values["late"] = np.linspace(-1.0, 1.0, 5_000)
    buffer.append_batch(Batch.of_columns(late.times, late.values))
    for buckets in (3, 50, 999):
        assert_matches_brute_force(buffer, buckets)
    times, values, reduced = buffer.overview(100)
    assert reduced
    assert np.isnan(values["late"][:2]).all(), "before the channel appeared it has no value"
    assert float(np.nanmax(values["late"])) == 1.0


def test_the_gap_of_a_disconnect_stays_a_gap_when_it_fills_whole_stretches() -> None:
    buffer = SampleBuffer(1_000_000)
    buffer.append_batch(Batch.of_columns(*_parts(signals(0, 100_000, 5))))
    blank = np.arange(100_000, 200_000) / 100.0
    buffer.append_batch(Batch.of_columns(blank, {"wave": np.full(blank.size, np.nan)}))
    buffer.append_batch(Batch.of_columns(*_parts(signals(200_000, 100_000, 6))))
    times, values, reduced = buffer.overview(300)
    assert reduced
    middle = (times > 1100.0) & (times < 1900.0)
    assert middle.any() and np.isnan(values["wave"][middle]).all()
    assert np.isfinite(values["wave"][times < 900.0]).all()
    assert_matches_brute_force(buffer, 300)


def test_a_spike_survives_every_level() -> None:
    buffer = SampleBuffer(1_000_000)
    part = signals(0, 1_000_000, 7)
    part.values["wave"][654_321] = 99.0
    buffer.append_batch(Batch.of_columns(part.times, part.values))
    for buckets in (2, 20, 200, 2000, 20_000):
        _, values, reduced = buffer.overview(buckets)
        assert reduced and float(np.nanmax(values["wave"])) == 99.0


def test_the_cost_of_an_overview_does_not_grow_with_the_rows_held() -> None:
    """The answer's size is bounded by the width, not by the rows (a million here)."""
    buffer = SampleBuffer(1_000_000)
    buffer.append_batch(Batch.of_columns(*_parts(signals(0, 1_000_000, 8))))
    times, values, reduced = buffer.overview(1000)
    assert reduced and times.size <= 2 * 1002 and all(column.size == times.size for column in values.values())


def test_row_near_finds_the_nearest_row_and_its_values() -> None:
    buffer = SampleBuffer(4)
    assert buffer.row_near(1.0) is None
    buffer.append([Record(float(t), {"a": float(t), "b": float("nan")}) for t in range(10)])  # holds 6..9
    assert buffer.row_near(7.4) == (7.0, {"a": 7.0})
    assert buffer.row_near(7.5) == (7.0, {"a": 7.0})
    assert buffer.row_near(7.6) == (8.0, {"a": 8.0})
    assert buffer.row_near(-100.0) == (6.0, {"a": 6.0})
    assert buffer.row_near(100.0) == (9.0, {"a": 9.0})


def test_peak_decimate_keeps_each_stretchs_extremes_and_the_gaps() -> None:
    x = np.arange(10.0)
    y = np.array([1, 5, 2, np.nan, np.nan, np.nan, 3, 0, 7, 4], dtype=np.float32)
    reduced_x, (reduced_y,) = peak_decimate(x, [y], buckets=4)
    assert list(reduced_x) == [0, 0, 3, 3, 6, 6, 9, 9]
    assert np.array_equal(reduced_y, [1, 5, np.nan, np.nan, 0, 7, 4, 4], equal_nan=True)
    _, (alternating,) = peak_decimate(x, [y[[0, 1, 2, 7, 8, 9, 6, 0, 1, 2]]], buckets=4)
    assert list(alternating) == [1, 5, 7, 0, 1, 5, 2, 2], "every other stretch is drawn maximum first"
    same_x, (same_y,) = peak_decimate(x, [y], buckets=10)
    assert same_x is x and same_y is y


def _parts(columns: Columns) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    return columns.times, columns.values
