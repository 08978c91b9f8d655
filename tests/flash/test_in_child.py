"""A flasher plugin from the user folder or an entry point does part of its work in a real child
process, where the child finds it by name through its own plugin registry (workbench/flash/in_child.py,
workbench/plugin_jobs.py)."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from workbench.core.errors import WorkbenchError
from workbench.flash.service import FlashRequest, flash
from workbench.plugins import ENTRY_POINT, USER, registry
from workbench.tasks import Task

CHILD_FLASHER = """
import json
import os
from pathlib import Path

from workbench.core.child import report_progress
from workbench.flash.api import Availability, Flasher, Step
from workbench.flash.in_child import run_flasher_job

with Path(os.environ["PLUGIN_RUNS"]).open("a") as runs:  # which process executed this file
    runs.write(f"{os.getpid()}\\n")


class Childish(Flasher):
    name = "childish"
    description = "Copies the firmware in a child process"

    def available(self):
        return Availability(ok=True)

    def plan(self, job):
        return [Step("copy in a child")]

    def flash(self, job, task):
        result = run_flasher_job(
            self, "copy_firmware", {"firmware": str(job.firmware)}, task, "Copying", timeout_s=120, on_line=task.log
        )
        task.log(json.dumps(result))

    def copy_firmware(self, request):
        report_progress(0.5, "copying")
        firmware = Path(request["firmware"])
        firmware.with_name("copied-" + firmware.name).write_bytes(firmware.read_bytes())
        return {"pid": os.getpid(), "bytes": firmware.stat().st_size, "workdir": request["workdir"]}

    def flash_in_the_wrong_place(self, job, task):
        return run_flasher_job(self, "flash", {}, task, "Flashing", timeout_s=120)
"""


@pytest.fixture()
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "runs.txt"
    monkeypatch.setenv("PLUGIN_RUNS", str(path))
    return path


@pytest.fixture()
def firmware(tmp_path: Path) -> Path:
    path = tmp_path / "fw.bin"
    path.write_bytes(b"\x01\x02firmware")
    return path


def _flash_with(firmware: Path, lines: list[str], fractions: list[float]) -> dict[str, object]:
    task = Task(on_progress=lambda fraction, _status: fractions.append(fraction), on_log=lines.append)
    board = registry().boards().get("raspberry_pi_pico")
    flash(FlashRequest(firmware, board, flasher="childish"), registry(), task)
    result: dict[str, object] = json.loads(lines[-1])
    return result


def test_a_user_folder_flasher_runs_its_job_in_a_child_found_there_by_name(
    isolated_home: Path, runs: Path, firmware: Path
) -> None:
    folder = isolated_home / "plugins" / "flashers"
    folder.mkdir(parents=True)
    (folder / "childish.py").write_text(textwrap.dedent(CHILD_FLASHER))
    assert registry().catalog().get("flasher", "childish").origin == USER

    lines: list[str] = []
    fractions: list[float] = []
    result = _flash_with(firmware, lines, fractions)
    assert result["pid"] != os.getpid() and result["bytes"] == len(firmware.read_bytes())
    assert (firmware.parent / "copied-fw.bin").read_bytes() == firmware.read_bytes()
    assert 0.5 in fractions, "the child's progress reaches the task"
    executed = runs.read_text().split()
    assert executed == [str(os.getpid()), str(result["pid"])], "once here, once in the child (its registry)"


def test_an_entry_point_flasher_runs_its_job_in_a_child(
    tmp_path: Path, runs: Path, firmware: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    (site / "wbtest_childish").mkdir(parents=True)
    (site / "wbtest_childish" / "__init__.py").write_text(textwrap.dedent(CHILD_FLASHER))
    info = site / "wbtest_childish-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: wbtest-childish\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[tinyml_workbench.plugins]\nchildish = wbtest_childish:Childish\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])))
    try:
        assert registry().catalog().get("flasher", "childish").origin == ENTRY_POINT
        result = _flash_with(firmware, [], [])
    finally:
        sys.modules.pop("wbtest_childish", None)
    assert result["pid"] != os.getpid()
    assert (firmware.parent / "copied-fw.bin").read_bytes() == firmware.read_bytes()


def test_the_child_refuses_a_flasher_it_does_not_find_and_a_contract_method(
    isolated_home: Path, runs: Path, firmware: Path
) -> None:
    folder = isolated_home / "plugins" / "flashers"
    folder.mkdir(parents=True)
    (folder / "childish.py").write_text(textwrap.dedent(CHILD_FLASHER))
    childish = registry().flasher("childish")
    with pytest.raises(WorkbenchError, match=r"the flasher childish has no job flash\(\)"):
        childish.flash_in_the_wrong_place(None, Task())  # type: ignore[attr-defined]

    (folder / "childish.py").unlink()  # gone from disk; this process has not reloaded
    with pytest.raises(WorkbenchError, match="unknown flasher 'childish'"):
        _flash_with(firmware, [], [])
