"""Fixtures of the core tests: recurrent, 3D and stateful models built by real Keras."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

FACTORY = Path(__file__).with_name("sequence_model_factory.py")


@pytest.fixture(scope="session")
def sequence_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """LSTM (fused and as a WHILE loop), SimpleRNN, Conv3D and resource-variable models, made by
    Keras and the TFLite converter in one child process for the session."""
    out = tmp_path_factory.mktemp("sequence")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    done = subprocess.run(
        [sys.executable, str(FACTORY), str(out)], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out
