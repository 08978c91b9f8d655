"""Monitor plot speed: the page's timer work with 8 channels x 1,000,000 samples of history,
reported beside a baseline holding only the last 1,000 samples, in the same run (not asserted).

Run with `make benchmark` (offscreen). A real SampleBuffer is filled with 8 channels of 1,000,000
samples (at 100 Hz: 2.8 hours of history) and handed to a real MonitorPage. One frame is what the
page's ~30 Hz timer does when new data has arrived - a few new records (appended outside the
timing, as the stream's own thread does), then `tick()`: read what is in view from the buffer (its
min/max pyramid reduces a long stretch to about two points a pixel column), hand it to the curves;
then the paint itself, as the event loop does it after the timer
(`processEvents()`: the plots are a QGraphicsView, which `repaint()` of the page does not draw). Frames/s are printed for several time
windows and for the whole history in view, beside the baseline: the same page and channels, a
buffer that holds 1,000 samples, all in view. Goal: >= 60 frames/s with the whole history in
view; a window of 1,000 samples should match the baseline (drawing cost must not grow with the
history). What is left with the whole history is the ink: each pixel column is drawn from its
minimum to its maximum, and with 2.8 hours of signal in view those spans are tall.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from workbench.monitor.buffer import SampleBuffer  # noqa: E402
from workbench.monitor.parse import Record  # noqa: E402
from workbench.monitor.stream import StreamStats  # noqa: E402

CHANNELS = ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z", "temp", "light")
HISTORY = 1_000_000
BASELINE = 1_000
RATE_HZ = 100.0
FRAMES = 100
FILL_BATCH = 100_000
GOAL_FPS = 60.0


class HeldStream:
    """What the page reads of a MonitorStream: a buffer and its stats (no port)."""

    def __init__(self, buffer: SampleBuffer) -> None:
        self.buffer = buffer

    def stats(self) -> StreamStats:
        return StreamStats(connected=True, port="benchmark", parser="arduino", channels=list(CHANNELS))

    def stop(self) -> None:
        pass


def _records(start: int, count: int) -> list[Record]:
    """`count` rows of slowly varying signals with noise, from row `start` on."""
    rows = np.arange(start, start + count)
    t = rows / RATE_HZ
    rng = np.random.default_rng(start)
    columns = [np.sin(t * (0.3 + c * 0.17)) * (c + 1) + rng.standard_normal(count) * 0.1 for c in range(len(CHANNELS))]
    values = np.column_stack(columns).tolist()
    return [Record(float(time_s), dict(zip(CHANNELS, row, strict=True))) for time_s, row in zip(t, values, strict=True)]


def _buffer(samples: int) -> SampleBuffer:
    buffer = SampleBuffer(samples)  # full: each new row drops the oldest, as after hours of streaming
    for start in range(0, samples, FILL_BATCH):
        buffer.append(_records(start, min(FILL_BATCH, samples - start)))
    return buffer


def _frames_per_s(page: Any, window: str, frames: int = FRAMES) -> tuple[float, float, float, int]:
    """Frames/s of the page's timer work with `window` chosen, the mean ms of reading and of
    painting, and the samples in view per channel."""
    from PySide6.QtWidgets import QApplication

    page.controls.window.setCurrentText(window)
    buffer = page.stream.buffer
    per_frame = max(int(RATE_HZ / 30), 1)
    page.tick()
    QApplication.processEvents()
    reading, painting = [], []
    for _ in range(frames):
        buffer.append(_records(buffer.total, per_frame))
        start = time.perf_counter()
        page.tick()
        ticked = time.perf_counter()
        QApplication.processEvents()
        painting.append(time.perf_counter() - ticked)
        reading.append(ticked - start)
    frame_s = statistics.mean(reading) + statistics.mean(painting)
    in_view = page.data_in_view()[0].size
    return 1.0 / frame_s, statistics.mean(reading) * 1000, statistics.mean(painting) * 1000, in_view


@pytest.fixture(scope="module")
def pages(qapp: Any) -> Any:
    from workbench.ui.pages.monitor import MonitorPage
    from workbench.ui.session import Session

    session = Session()
    built = {}
    for name, samples in (("history", HISTORY), ("baseline", BASELINE)):
        page = MonitorPage(session)
        page._listed = True  # no port listing: the page reads a buffer filled here
        page.stream = HeldStream(_buffer(samples))
        page.connected = True
        page.port = "benchmark"
        page.resize(1440, 860)
        page.show()
        built[name] = page
    yield built
    for page in built.values():
        page.stream = None
        page.close()


def test_redraw_speed_with_a_million_samples_of_history_against_a_thousand(pages: Any) -> None:
    rows = []
    for window in ("10 s", "30 s", "10 min", "all"):
        rows.append((f"1,000,000 held, window {window}", *_frames_per_s(pages["history"], window)))
    rows.append(("baseline: 1,000 held, all in view", *_frames_per_s(pages["baseline"], "all")))
    print(f"\nMonitor redraw: {len(CHANNELS)} channels at {RATE_HZ:g} Hz, mean of {FRAMES} frames")
    print(f"  {'':<36} {'in view':>9}  {'read ms':>7}  {'paint ms':>8}  {'frames/s':>8}")
    for label, fps, read_ms, paint_ms, in_view in rows:
        print(f"  {label:<36} {in_view:>9,}  {read_ms:7.1f}  {paint_ms:8.1f}  {fps:8.1f}")
    whole, baseline = rows[3][1], rows[-1][1]
    print(f"  whole history / baseline: {whole / baseline:.2f}")
    print(
        f"  goal: >= {GOAL_FPS:g} frames/s with the whole history; the 10 s window (1,000 in view) against the baseline"
    )
    assert all(in_view > 0 for *_, in_view in rows)
