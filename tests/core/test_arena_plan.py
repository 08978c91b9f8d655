"""Planning the arena's head: TFLM's own greedy plan reproduced byte for byte (checked against
TFLM's interpreter on its own example models), and a better plan that is never larger, never
below the live-bytes bound, and never lets two live tensors share bytes."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAMPLES
from workbench.core.arena_plan import (
    ALIGNMENT,
    Buffer,
    better_plan,
    buffer_lifetimes,
    check_plan,
    greedy_plan,
    live_bytes_peak,
)
from workbench.core.tflite_file import parse_tflite

TFLM_HEAD = """
import sys
from tflite_micro.python.tflite_micro import runtime
interpreter = runtime.Interpreter.from_bytes(open(sys.argv[1], "rb").read(), arena_size=1 << 22)
interpreter.print_allocations()
"""


def _tflm_head_bytes(model: Path) -> int:
    """The head TFLM's interpreter planned for `model`, as its recording allocator reports it."""
    done = subprocess.run([sys.executable, "-c", TFLM_HEAD, str(model)], capture_output=True, text=True, timeout=120)
    found = re.search(r"Arena allocation head (\d+) bytes", done.stdout + done.stderr)
    assert found, done.stdout + done.stderr
    return int(found.group(1))


@pytest.mark.parametrize(
    "name",
    ["person_detect.tflite", "micro_speech_quantized.tflite", "hello_world_int8.tflite", "hello_world_float.tflite"],
)
def test_the_greedy_plan_is_the_one_tflm_makes(reference_models: Path, name: str) -> None:
    model = reference_models / name
    buffers = buffer_lifetimes(parse_tflite(model.read_bytes()))
    plan = greedy_plan(buffers)
    assert plan.head_bytes == _tflm_head_bytes(model)
    assert check_plan(buffers, plan.offsets) == []


def test_on_the_sample_too(tmp_path: Path) -> None:
    model = SAMPLES / "digits_int8.tflite"
    buffers = buffer_lifetimes(parse_tflite(model.read_bytes()))
    assert greedy_plan(buffers).head_bytes == _tflm_head_bytes(model)
    assert live_bytes_peak(buffers) <= better_plan(buffers).head_bytes <= greedy_plan(buffers).head_bytes


def test_where_the_greedy_order_wastes_bytes_a_better_plan_reaches_the_bound() -> None:
    """Four buffers on which size-first placement leaves a hole: 112 bytes where 96 are ever alive."""
    buffers = [Buffer(0, 32, 3, 5), Buffer(1, 48, 2, 2), Buffer(2, 32, 3, 4), Buffer(3, 32, 1, 3)]
    assert live_bytes_peak(buffers) == 96 and greedy_plan(buffers).head_bytes == 112
    better = better_plan(buffers)
    assert better.head_bytes == 96 and check_plan(buffers, better.offsets) == []


def test_random_graphs_plans_are_valid_never_worse_than_tflm_and_never_below_the_bound() -> None:
    rng = random.Random(2026)
    for _ in range(400):
        buffers = []
        for tensor in range(rng.randint(1, 24)):
            first = rng.randint(0, 20)
            buffers.append(Buffer(tensor, ALIGNMENT * rng.randint(1, 64), first, first + rng.randint(0, 6)))
        greedy, better = greedy_plan(buffers), better_plan(buffers)
        assert check_plan(buffers, greedy.offsets) == [] and check_plan(buffers, better.offsets) == []
        assert live_bytes_peak(buffers) <= better.head_bytes <= greedy.head_bytes


def test_a_wrong_plan_is_caught() -> None:
    buffers = [Buffer(0, 32, 0, 2), Buffer(1, 32, 1, 3), Buffer(2, 32, 3, 4)]
    assert check_plan(buffers, [0, 32, 0]) == []  # 0 and 2 are never alive together
    assert check_plan(buffers, [0, 16, 64]) == ["tensors 0 and 1 are alive at the same time and share bytes"]
    assert check_plan(buffers, [0, 40, 0]) == ["tensor 1: offset 40 is not a multiple of 16"]


def test_inspect_says_when_tflms_plan_is_already_the_smallest(reference_models: Path) -> None:
    from workbench.core.arena_plan import plan_note

    note, saves = plan_note(parse_tflite((reference_models / "person_detect.tflite").read_bytes()))
    assert not saves and note == (
        "TFLM's plan for the activations (55,296 bytes) is already the smallest possible: that much is alive at once."
    )
