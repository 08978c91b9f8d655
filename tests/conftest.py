"""Shared fixtures: the reference models in ../shared/models and models built by real Keras."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_MODELS = ROOT.parent / "shared" / "models"
SAMPLES = ROOT / "resources" / "samples"


@pytest.fixture(scope="session", autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Settings, user plugins and logs of the tests live in a temporary folder."""
    home = tmp_path_factory.mktemp("home")
    os.environ["TINYML_WORKBENCH_HOME"] = str(home)
    return home


@pytest.fixture(scope="session")
def reference_models() -> Path:
    assert SHARED_MODELS.is_dir(), f"reference models expected at {SHARED_MODELS}"
    return SHARED_MODELS


@pytest.fixture(scope="session")
def built_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Models made by Keras and the TFLite converter for this test session (one child process)."""
    out = tmp_path_factory.mktemp("built")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "model_factory.py"), str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `python -m workbench ARGS` as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout
    )
