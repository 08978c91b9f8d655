"""Monitor throughput over a pseudo-terminal, reported beside a minimal pyserial loop (not asserted).

Run with `make benchmark`. A child process plays the board: it writes 8-channel CSV lines into a
raw pty as fast as the pty takes them for SEND_S seconds, then says how many it sent. The pty's
buffer is small and a full one makes the writer wait, so the rate is the reader's. Two readers,
in this same run:

- the baseline: a minimal pyserial loop - read what is waiting, split lines, parse floats;
- ours: MonitorStream end to end (auto-detected parser, its batches, SampleBuffer), once without
  and once with a CSV recording;
- a parser without a fast `feed_lines`: one ready-made Record object a line, fed line by line (a
  plugin parser's path), so what is measured is reading, splitting, queueing, Record objects and
  buffering them.

Printed: lines/s of each and the ratio (goal: >= 50,000 lines/s and >= half the baseline). Only
zero loss is asserted: every line sent is a record, and a recorded row.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import serial

from tests.monitor.conftest import PtyPort
from workbench.monitor.parse import Parser, Record
from workbench.monitor.recorder import read_recording
from workbench.monitor.stream import MonitorStream
from workbench.plugins import registry

SEND_S = 3.0
CHANNELS = 8
GOAL_LINES_PER_S = 50_000

# The board: distinct lines, written in blocks of whole lines until SEND_S has passed.
SENDER = """
import os, sys, time
fd, seconds, channels = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
lines = [",".join(f"{(i * 7 + c * 13) % 2000 / 100 - 10:.3f}" for c in range(channels)) + "\\n" for i in range(1000)]
block = "".join(lines).encode()
sys.stdout.write("ready\\n"); sys.stdout.flush()
sys.stdin.readline()
sent = 0
end = time.perf_counter() + seconds
while time.perf_counter() < end:
    view = memoryview(block)
    while view:
        view = view[os.write(fd, view):]
    sent += len(lines)
print(sent, flush=True)
"""


class Board:
    """The sender child, holding the pty's master end; go() starts it, sent() waits for its count."""

    def __init__(self, port: PtyPort) -> None:
        self.child = subprocess.Popen(
            [sys.executable, "-c", SENDER, str(port.master), str(SEND_S), str(CHANNELS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            pass_fds=(port.master,),
        )
        assert self.child.stdout is not None and self.child.stdout.readline().strip() == "ready"

    def go(self) -> None:
        assert self.child.stdin is not None
        self.child.stdin.write("\n")
        self.child.stdin.flush()

    def done(self) -> bool:
        return self.child.poll() is not None

    def sent(self) -> int:
        assert self.child.stdout is not None
        count = int(self.child.stdout.readline())
        self.child.wait(timeout=30)
        return count


def _until(condition: Callable[[], bool], deadline_s: float) -> None:
    end = time.monotonic() + deadline_s
    while not condition() and time.monotonic() < end:
        time.sleep(0.01)


def baseline(tmp_path: Path) -> tuple[int, int, float]:
    """(lines sent, lines parsed, seconds): read what is waiting, split lines, parse floats."""
    port = PtyPort(tmp_path / "ttyBASE")
    board = Board(port)
    reader = serial.Serial(port.path, 115200, timeout=0.05)
    parsed = 0
    rest = b""
    board.go()
    first: float | None = None
    last = time.perf_counter()
    while True:
        data = reader.read(max(1, reader.in_waiting))
        if not data:
            if board.done():
                break
            continue
        if first is None:
            first = time.perf_counter()
        lines = (rest + data).split(b"\n")
        rest = lines.pop()
        for line in lines:
            [float(field) for field in line.split(b",")]  # noqa: B018 - the parse is the work measured
            parsed += 1
        last = time.perf_counter()
    sent = board.sent()
    reader.close()
    port.close()
    return sent, parsed, last - (first or last)


class ReadyMade(Parser):
    """Parses nothing: one ready-made record per line, fed line by line (no feed_lines of its own)."""

    name = "ready-made"
    description = "one prepared record per line"
    RECORD = Record(0.0, {f"column {c + 1}": float(c) for c in range(CHANNELS)})

    def sniff(self, lines: list[str]) -> float:
        return 1.0

    def feed(self, line: str, time: float) -> list[Record]:
        return [self.RECORD]


def ours(
    tmp_path: Path, record: Path | None, parser: Parser | None = None, name: str = "ours"
) -> tuple[int, int, float, int]:
    """(lines sent, records, seconds, recorded rows) through MonitorStream."""
    port = PtyPort(tmp_path / f"tty-{name}")
    board = Board(port)
    if parser is None:
        stream = MonitorStream(port.path, record=record, parsers=registry().parsers())
    else:
        stream = MonitorStream(port.path, record=record, parsers=[parser], parser=parser.name)
    stream.start()
    board.go()
    _until(lambda: stream.stats().bytes > 0, 30)
    first = time.perf_counter()
    sent = board.sent()
    _until(lambda: stream.stats().lines >= sent, 60)
    last = time.perf_counter()
    stream.stop()
    stats = stream.stats()
    port.close()
    rows = len(read_recording(record)) if record is not None else -1
    assert stats.malformed == 0, stats
    return sent, stats.records, last - first, rows


def test_monitor_throughput_against_a_minimal_pyserial_loop(tmp_path: Path) -> None:
    """Lines/s of the monitor beside a bare pyserial loop over the same pty, with zero lines lost."""
    base_sent, base_parsed, base_s = baseline(tmp_path)
    assert base_parsed == base_sent, "the baseline itself lost lines"
    base_rate = base_parsed / base_s

    sent, records, seconds, _ = ours(tmp_path, None)
    assert records == sent, f"{sent - records} of {sent} lines lost"
    rate = records / seconds

    rec_sent, rec_records, rec_seconds, rows = ours(tmp_path, tmp_path / "bench.csv", name="recording")
    assert rec_records == rec_sent, f"{rec_sent - rec_records} of {rec_sent} lines lost while recording"
    assert rows == rec_sent, f"{rec_sent - rows} of {rec_sent} lines missing from the recording"
    rec_rate = rec_records / rec_seconds

    bare_sent, bare_records, bare_seconds, _ = ours(tmp_path, None, ReadyMade(), name="ready-made")
    assert bare_records == bare_sent, f"{bare_sent - bare_records} of {bare_sent} lines lost without parsing"
    bare_rate = bare_records / bare_seconds

    print(f"\nmonitor throughput over a pty, {CHANNELS}-channel CSV lines, {SEND_S:.0f} s of sending each:")
    print(f"  minimal pyserial loop   : {base_rate:>10,.0f} lines/s ({base_parsed:,} lines)")
    print(f"  MonitorStream           : {rate:>10,.0f} lines/s ({records:,} lines)  ratio {rate / base_rate:.2f}")
    print(
        f"  MonitorStream + CSV     : {rec_rate:>10,.0f} lines/s ({rec_records:,} lines)  ratio {rec_rate / base_rate:.2f}"
    )
    print(
        f"  a Record a line, no parse: {bare_rate:>9,.0f} lines/s ({bare_records:,} lines)  "
        f"ratio {bare_rate / base_rate:.2f}  (a plugin parser without feed_lines, parsing nothing)"
    )
    print(f"  goal: >= {GOAL_LINES_PER_S:,} lines/s and >= 0.5 x baseline")
    print(f"  ({os.cpu_count()} CPUs; zero lines lost in every run)")
