"""The one launcher of the app's children, from a source install and from a frozen bundle.

The frozen bundle is simulated by a small executable script that sets `sys.frozen` and runs the
package's entry point, as a PyInstaller bundle's executable does: a child job reaches it as the
executable plus the launcher's flag, with no `-m` and no `-c`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.core import launcher
from workbench.core.errors import ChildNotStarted
from workbench.core.loading import load_model
from workbench.core.process import run_process
from workbench.core.tflm import check_tflm
from workbench.tasks import Task

PYTHON = sys.executable
SAMPLE = Path(__file__).parents[2] / "resources" / "samples" / "digits_int8.tflite"

FROZEN_APP = """#!{python}
import atexit, json, os, runpy, sys
sys.frozen = True
def _tell():  # what the executable had imported when it ended
    with open(os.environ["FROZEN_REPORT"], "a") as report:
        names = ("workbench.cli", "workbench.ui", "PySide6")
        report.write(json.dumps({{"argv": sys.argv[1:], "imported": [n for n in names if n in sys.modules]}}) + "\\n")
atexit.register(_tell)
runpy.run_module("workbench", run_name="__main__", alter_sys=True)
"""


@pytest.fixture
def frozen_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This process made to look frozen, its executable the simulated bundle; returns the report
    file in which every run of the bundle says what it imported."""
    app = tmp_path / "tinyml-workbench"
    app.write_text(FROZEN_APP.format(python=sys.executable))
    app.chmod(0o755)
    report = tmp_path / "frozen-report.jsonl"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(app))
    monkeypatch.setenv("FROZEN_REPORT", str(report))
    monkeypatch.setenv("QT_QPA_PLATFORM", "no-such-platform")  # a GUI started by mistake would abort
    return report


def _runs(report: Path) -> list[dict[str, list[str]]]:
    return [json.loads(line) for line in report.read_text().splitlines()]


def test_a_frozen_bundle_runs_a_real_tflm_job_without_the_cli_or_the_gui(
    frozen_app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = load_model(SAMPLE)
    frozen = check_tflm(model, Task())
    assert frozen.compatible and frozen.arena_bytes and frozen.arena_bytes > 0
    runs = _runs(frozen_app)
    assert runs and all(run["argv"][0] == launcher.CHILD_JOB for run in runs)
    assert all(run["imported"] == [] for run in runs)  # dispatched before the CLI or the GUI
    with monkeypatch.context() as source_install:
        source_install.setattr(sys, "frozen", False)
        source_install.setattr(sys, "executable", PYTHON)
        assert launcher.job_argv("m:f", "in", "out")[:3] == [PYTHON, "-m", "workbench.core.child_main"]
        source = check_tflm(model, Task())
    assert source.arena_bytes == frozen.arena_bytes
    assert len(_runs(frozen_app)) == len(runs)  # the source install's child was not the bundle


def test_a_frozen_command_child_runs_the_cli_and_drops_the_launchers_flag(frozen_app: Path) -> None:
    argv = launcher.command_argv(["boards", "--json"], end_with_parent=True)
    assert argv[0] == sys.executable and "-m" not in argv and "-c" not in argv
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert any(board["id"] == "raspberry_pi_pico" for board in json.loads(done.stdout))
    (run,) = _runs(frozen_app)
    assert run["imported"] == ["workbench.cli"]  # the CLI, never the GUI


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_command_child_whose_parent_is_already_gone_ends_at_once(frozen_app: Path) -> None:
    argv = [sys.executable, f"{launcher.END_WITH_PARENT}={os.getpid() + 10**6}", "boards", "--json"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout == ""  # its parent is not the one named: it never ran


def test_a_frozen_bundle_that_cannot_start_the_job_says_so_as_the_apps_failure(
    frozen_app: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken = tmp_path / "broken-bundle"
    broken.write_text("#!/bin/sh\necho 'Failed to execute script: no module named workbench' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(broken))
    with pytest.raises(ChildNotStarted) as caught:
        check_tflm(load_model(SAMPLE), Task())
    assert "could not start its worker (exit code 1)" in caught.value.message
    assert "no module named workbench" in caught.value.details


def test_an_outside_program_started_from_a_bundle_gets_the_users_library_path(
    frozen_app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PyInstaller's bootloader puts the bundle's folder first on LD_LIBRARY_PATH and keeps the
    user's value as LD_LIBRARY_PATH_ORIG: a flasher or QEMU must see the user's, the bundle's own
    executable (a child job) the bundle's."""
    monkeypatch.setenv("LD_LIBRARY_PATH", "/bundle/_internal:/opt/vendor/lib")
    monkeypatch.setenv("LD_LIBRARY_PATH_ORIG", "/opt/vendor/lib")
    lines: list[str] = []
    result = run_process(["sh", "-c", 'echo "path=$LD_LIBRARY_PATH"'], Task(), what="a tool", on_line=lines.append)
    assert result.ok and lines == ["path=/opt/vendor/lib"]
    monkeypatch.delenv("LD_LIBRARY_PATH_ORIG")  # the user had none: the tool gets none
    lines.clear()
    run_process(["sh", "-c", 'echo "path=${LD_LIBRARY_PATH-unset}"'], Task(), what="a tool", on_line=lines.append)
    assert lines == ["path=unset"]
    own = launcher.external_env([sys.executable, launcher.CHILD_JOB], {"LD_LIBRARY_PATH": "/bundle/_internal"})
    assert own == {"LD_LIBRARY_PATH": "/bundle/_internal"}
    with launcher.external_environment():
        assert "LD_LIBRARY_PATH" not in os.environ
    assert os.environ["LD_LIBRARY_PATH"] == "/bundle/_internal:/opt/vendor/lib"


def test_from_a_source_install_every_program_gets_the_environment_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LD_LIBRARY_PATH", "/opt/vendor/lib")
    lines: list[str] = []
    run_process(["sh", "-c", 'echo "path=$LD_LIBRARY_PATH"'], Task(), what="a tool", on_line=lines.append)
    assert lines == ["path=/opt/vendor/lib"]
