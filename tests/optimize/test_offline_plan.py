"""An arena plan written where TFLM reads it (OfflineMemoryAllocation), and proved in TFLM's own
interpreter: it allocates the head the plan says, and gives bit-identical outputs to the model
as it was. A wrong plan is refused before it is written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAMPLES
from workbench.core.arena_plan import better_plan, buffer_lifetimes, greedy_plan
from workbench.core.errors import WorkbenchError
from workbench.core.tflite_file import parse_tflite
from workbench.optimize.offline_plan import ONLINE, offline_plan_of, with_offline_plan

RUN_IN_TFLM = r"""
import hashlib, io, json, os, re, sys, tempfile
import numpy as np
from tflite_micro.python.tflite_micro import runtime

def run(path):
    interpreter = runtime.Interpreter.from_bytes(open(path, "rb").read(), arena_size=1 << 22)
    detail = interpreter.get_input_details(0)
    rng = np.random.default_rng(7)
    digest = hashlib.sha256()
    for _ in range(4):
        info = np.iinfo(detail["dtype"]) if np.issubdtype(detail["dtype"], np.integer) else None
        x = (rng.integers(info.min, info.max + 1, size=detail["shape"]) if info else rng.standard_normal(detail["shape"])).astype(detail["dtype"])
        interpreter.set_input(x, 0)
        interpreter.invoke()
        digest.update(np.ascontiguousarray(interpreter.get_output(0)).tobytes())
    # the recording allocator prints from C (TFLM's debug log, on stderr): read it from the descriptor
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        interpreter.print_allocations()
        os.dup2(saved, 2)
        captured.seek(0)
        text = captured.read().decode()
    head = int(re.search(r"allocation head (\d+) bytes", text).group(1))
    return {"head": head, "outputs": digest.hexdigest()}

print(json.dumps([run(p) for p in sys.argv[1:]]))
"""


def _in_tflm(*models: Path) -> list[dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-c", RUN_IN_TFLM, *map(str, models)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("source", ["person_detect", "sample"])
def test_a_written_plan_is_the_head_tflm_allocates_with_bit_identical_outputs(
    source: str, reference_models: Path, tmp_path: Path
) -> None:
    original = (
        reference_models / "person_detect.tflite" if source == "person_detect" else SAMPLES / "digits_int8.tflite"
    )
    data = original.read_bytes()
    buffers = buffer_lifetimes(parse_tflite(data))
    for plan in (better_plan(buffers), greedy_plan(buffers)):
        planned = tmp_path / f"planned_{plan.head_bytes}.tflite"
        planned.write_bytes(with_offline_plan(data, buffers, plan.offsets))
        offsets = offline_plan_of(planned.read_bytes())
        assert offsets is not None
        assert [offsets[b.tensor] for b in buffers] == list(plan.offsets)
        assert all(offsets[t] == ONLINE for t in range(len(offsets)) if t not in {b.tensor for b in buffers})
        before, after = _in_tflm(original, planned)
        assert after["head"] == plan.head_bytes
        assert after["outputs"] == before["outputs"]  # it computes exactly what it did
    # TFLM takes the plan as written, not its own: the same plan 256 bytes up gives a head 256 larger.
    plan = better_plan(buffers)
    shifted = tmp_path / "shifted.tflite"
    shifted.write_bytes(with_offline_plan(data, buffers, [offset + 256 for offset in plan.offsets]))
    before, after = _in_tflm(original, shifted)
    assert after["head"] == plan.head_bytes + 256 and after["outputs"] == before["outputs"]


def test_a_plan_that_lets_live_tensors_share_bytes_is_never_written(reference_models: Path) -> None:
    data = (reference_models / "person_detect.tflite").read_bytes()
    buffers = buffer_lifetimes(parse_tflite(data))
    wrong = [0] * len(buffers)  # everything at offset 0: tensors alive together collide
    with pytest.raises(WorkbenchError, match="the arena plan is wrong"):
        with_offline_plan(data, buffers, wrong)
