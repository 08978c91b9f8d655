"""Legacy Keras 2 .h5 models for the tests: built once per session by tests/legacy_h5_factory.py
in a child process (TensorFlow stays out of the test process), shared by every module that asks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

FACTORY = Path(__file__).resolve().parent / "legacy_h5_factory.py"
BENCHMARK_MODELS = ("autoencoder", "resnet8", "mobilenet_v1", "ds_cnn")
# Operators a legacy model must not keep: weights in resource variables, batch norm or Dense unfolded.
RESOURCE_OR_UNFOLDED = {"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "BATCH_MATMUL", "RSQRT"}


def build_once(base: Path) -> Path:
    """The folder with the models, built on the first call of the session (`base` is pytest's basetemp)."""
    out = base / "legacy_h5"
    if not (out / "facts.json").exists():
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
        done = subprocess.run(
            [sys.executable, str(FACTORY), str(out)], capture_output=True, text=True, env=env, timeout=600
        )
        assert done.returncode == 0, done.stderr[-3000:]
    return out


def facts(folder: Path) -> dict[str, Any]:
    """What tf_keras itself said about each model (parameters, weighted layers, shapes)."""
    return json.loads((folder / "facts.json").read_text())  # type: ignore[no-any-return]
