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


SLOW_FIXTURES = {"built_models", "digits_data", "legacy"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use a fixture built by TensorFlow are slow, like those marked by hand."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def shared_conversion_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Conversions are cached across the session, so a model converts once per run."""
    folder = tmp_path_factory.mktemp("conversion-cache")
    os.environ["TINYML_WORKBENCH_CACHE"] = str(folder)
    return folder


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, shared_conversion_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test has its own settings, user plugins and logs; child processes inherit it. The
    plugin registry forgets what it found, so a test's plugins are discovered from its own home
    (a test that changes plugins after reading them calls registry().reload())."""
    from workbench.plugins import registry

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("TINYML_WORKBENCH_HOME", str(home))
    monkeypatch.setenv("TINYML_WORKBENCH_CACHE", str(shared_conversion_cache))
    registry().forget()
    return home


@pytest.fixture
def fresh_conversion_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """For tests that need a conversion to really run: an empty cache of their own."""
    folder = tmp_path / "fresh-cache"
    monkeypatch.setenv("TINYML_WORKBENCH_CACHE", str(folder))
    return folder


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


@pytest.fixture(scope="session")
def digits_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """scikit-learn's real digits, split as the bundled sample was trained (same seed)."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    folder = tmp_path_factory.mktemp("digits")
    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=0.25, random_state=7, stratify=digits.target
    )
    paths = {"train": folder / "train.npz", "eval": folder / "eval.npz", "calib": folder / "calib.npy"}
    np.savez(paths["train"], x=x_train, y=y_train)
    np.savez(paths["eval"], x=x_test, y=y_test)
    np.save(paths["calib"], x_train[:200])
    return paths


@pytest.fixture(scope="session")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Keras 2 .h5 models written by tf_keras (tests/legacy_h5_factory.py), built once per session."""
    from tests.legacy_h5 import build_once

    return build_once(tmp_path_factory.getbasetemp())


CHILD_FAULT = Path(__file__).parent / "child_fault"


def child_fault(monkeypatch: pytest.MonkeyPatch, job: str, fault: str) -> None:
    """Make job children whose job name contains `job` die for real (see child_fault/sitecustomize.py):
    fault "start-abort" before they start, "work-abort" or "work-segv" once they have started."""
    monkeypatch.setenv("PYTHONPATH", str(CHILD_FAULT))
    monkeypatch.setenv("WORKBENCH_FAULT_JOB", job)
    monkeypatch.setenv("WORKBENCH_FAULT", fault)
