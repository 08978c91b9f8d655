"""The plugin kit: the example plugin package (examples/plugin-example) installed with pip, found
by the workbench through its entry point with its origin, its own tests passing with the helpers
for plugin authors (workbench.plugin_testing), and, broken, reported and skipped while the app goes on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "plugin-example"


def _run(*args: str, site: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(site), QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout)


@pytest.fixture
def site(tmp_path: Path, isolated_home: Path) -> Path:
    """The example installed by pip into a folder of its own (put on PYTHONPATH for the children);
    built from a copy, so nothing is written into the repository."""
    source = tmp_path / "source"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = tmp_path / "site"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return target


def _listed(site: Path) -> dict[str, object]:
    done = _run("-m", "workbench", "plugins", "--json", site=site)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_installed_example_is_found_with_its_origin_and_its_own_tests_pass(site: Path) -> None:
    listed = _listed(site)
    found = {(p["kind"], p["name"]): p for p in listed["plugins"]}  # type: ignore[union-attr, index]
    for key in (("board", "example_board"), ("parser", "example-sense"), ("flasher", "example-flash")):
        assert key in found, key
        assert found[key]["origin"] == "entry-point"
        assert "workbench-example-plugin" in found[key]["source"] or "workbench_example_plugin" in found[key]["source"]
    assert listed["problems"] == []
    tests = _run("-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests"), site=site)
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert "3 passed" in tests.stdout


def _problems(listed: dict[str, object]) -> str:
    return " ".join(f"{p['source']}: {p['message']}" for p in listed["problems"])  # type: ignore[union-attr, index]


def _names(listed: dict[str, object]) -> set[str]:
    return {p["name"] for p in listed["plugins"]}  # type: ignore[union-attr, index]


def test_a_broken_plugin_is_reported_and_skipped_and_the_app_goes_on(site: Path) -> None:
    package = site / "workbench_example_plugin"
    (package / "boards" / "half_board.toml").write_text('name = "Half Board"\n')  # no mcu, no sizes
    listed = _listed(site)
    assert "half_board.toml: missing 'flash_kb'" in _problems(listed)
    assert {"example_board", "example-sense", "example-flash"} <= _names(listed), "the rest of it still counts"
    assert "half_board" not in _names(listed)
    boards = _run("-m", "workbench", "boards", site=site)
    assert boards.returncode == 0 and "Example Sense Board" in boards.stdout
    assert "warning: skipped" in boards.stderr and "half_board.toml" in boards.stderr

    (package / "parser.py").write_text("raise RuntimeError('broken on purpose')\n")  # the package cannot import
    listed = _listed(site)
    assert "workbench-example-plugin" in _problems(listed) and "broken on purpose" in _problems(listed)
    assert not {"example_board", "example-sense", "example-flash"} & _names(listed)
    assert "raspberry_pi_pico" in _names(listed), "the built-ins are all there"
    analyzed = _run("-m", "workbench", "analyze", "resources/samples/digits_int8.tflite", "--no-tflm", site=site)
    assert analyzed.returncode == 0, analyzed.stderr
