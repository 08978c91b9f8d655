"""Architecture rules: Qt only in workbench/ui, no TensorFlow at GUI start or .tflite analysis."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

QT_MODULES = ("PySide6", "pyqtgraph", "shiboken6")


def test_only_the_ui_package_imports_qt() -> None:
    """The engine and the built-in plugins (which import-linter does not see) never import Qt."""
    offenders = []
    for path in [*(ROOT / "workbench").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")]:
        if (ROOT / "workbench" / "ui") in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            )
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in QT_MODULES]
    assert offenders == []


def _imported(trace: str, module: str) -> bool:
    return re.search(rf"\|\s+{re.escape(module)}$", trace, re.M) is not None


def _imported_modules(code: str) -> str:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stderr


def test_analyzing_a_tflite_file_never_imports_tensorflow(reference_models: Path) -> None:
    trace = _imported_modules(
        "from workbench.core.loading import load_model\n"
        "from workbench.core.analysis import analyze\n"
        f"analyze(load_model({str(reference_models / 'person_detect.tflite')!r}))\n"
    )
    assert not _imported(trace, "tensorflow") and not _imported(trace, "keras")
    assert _imported(trace, "workbench.core.analysis")


def test_gui_start_never_imports_tensorflow() -> None:
    trace = _imported_modules(
        "from workbench.ui.app import create_application\n"
        "app = create_application()\n"
        "from workbench.ui.main_window import MainWindow\n"
        "w = MainWindow(); w.show(); app.processEvents(); w.close()\n"
    )
    assert "Release of profile requested" not in trace
    assert _imported(trace, "PySide6.QtWidgets")
    assert not _imported(trace, "tensorflow") and not _imported(trace, "keras")
