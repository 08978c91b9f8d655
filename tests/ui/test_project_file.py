"""Project files: File > Save Project writes the whole workbench to one .tmlw; a new window that
opens it finds the same state (model, board, verified variants and the chosen one, Optimize's
choices, Deploy's target, Monitor's port and layout, the page); a moved model is asked for and
matched by its content, a changed one is flagged and opens without the variants made of it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from workbench.optimize.convert import optimize_model
from workbench.optimize.plan import Plan
from workbench.project import read_project
from workbench.ui.main_window import MainWindow
from workbench.ui.projects import RECENT_PROJECTS_KEY


def _dialog(window: MainWindow, name: str) -> QMessageBox | None:
    return next((box for box in window.findChildren(QMessageBox, name) if box.isVisible()), None)


def _new_window(qtbot: Any) -> MainWindow:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.inspect  # noqa: B018 - the pages, as after the first paint
    return window


@pytest.fixture
def saved_project(qtbot: Any, tmp_path: Path, reference_models: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project saved from a window with TFLM's hello_world model, a board, two verified variants
    (the second chosen), Deploy and Monitor settings and the Deploy page in front; the window closed."""
    model = tmp_path / "models" / "hello_world_int8.tflite"
    model.parent.mkdir()
    shutil.copy(reference_models / "hello_world_int8.tflite", model)
    window = _new_window(qtbot)
    with qtbot.waitSignal(window.session.model_changed, timeout=30000):
        window.open(model)
    qtbot.waitUntil(lambda: window.session.analysis.tflm is not None, timeout=60000)
    window.session.set_board("raspberry_pi_pico")
    session, analysis = window.session, window.session.analysis
    for plan in (Plan(quant="float32"), Plan(quant="float32", strip=True)):
        assert session.add_variant(optimize_model(session.model, analysis, plan), session.generation)
    session.choose_variant(session.variants[1])
    session.state.set_target(format="cmake", folder=str(tmp_path / "export"))
    session.state.set_monitor(port="/dev/ttyACM7", baud=230400)
    window.monitor.restore_layout({"window": window.monitor.controls.window.itemText(0), "threshold": 0.8})
    window.steps.setCurrentWidget(window.deploy)
    target = tmp_path / "projects" / "hello"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    saved = window.projects.save()
    assert saved == target.with_suffix(".tmlw") and saved.exists()
    assert window.session.unsaved_variants() == []  # kept in the project: quitting asks nothing
    window.close()
    assert not window.isVisible() and _dialog(window, "discardDialog") is None
    return saved


def test_a_saved_project_reopens_to_the_same_state(qtbot: Any, saved_project: Path) -> None:
    data = read_project(saved_project)
    assert data["version"] == 1 and data["session"]["board"] == "raspberry_pi_pico"
    assert len(data["session"]["variants"]) == 2 and data["session"]["chosen_variant"] == 1
    before = [(v["plan"], v["actual"]) for v in data["session"]["variants"]]

    window = _new_window(qtbot)
    window.open(saved_project)  # as from the command line or a double-click on the file
    qtbot.waitUntil(lambda: len(window.session.variants) == 2, timeout=60000)
    session = window.session
    assert session.model is not None and session.model.name == "hello_world_int8.tflite"
    assert session.state.model_hash == data["session"]["model"]["sha256"]
    assert session.board is not None and session.board.id == "raspberry_pi_pico"
    assert [(v.plan.to_json(), v.actual.to_json()) for v in session.variants] == before  # measured again: same
    assert session.chosen_variant is session.variants[1] and session.chosen_variant.plan.strip
    assert session.state.target.format == "cmake" and session.state.monitor.port == "/dev/ttyACM7"
    assert session.state.monitor.baud == 230400 and session.state.monitor.connected is False
    assert window.monitor.class_panel.value() == pytest.approx(0.8)
    assert window.steps.currentWidget() is window.deploy
    assert window.windowTitle().startswith("hello.tmlw")
    assert str(saved_project) in window.recent_files(RECENT_PROJECTS_KEY)
    assert session.unsaved_variants() == []
    window._closing_confirmed = True
    window.close()


def test_a_moved_model_is_asked_for_and_matched_by_its_content(
    qtbot: Any, saved_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = Path(read_project(saved_project)["session"]["model"]["path"])
    moved = tmp_path / "elsewhere" / "renamed.tflite"
    moved.parent.mkdir()
    old.rename(moved)
    asked: list[str] = []

    def where_is_it(_parent: Any, caption: str, *args: Any, **kwargs: Any) -> tuple[str, str]:
        asked.append(caption)
        return str(moved), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", where_is_it)
    window = _new_window(qtbot)
    window.projects.open(saved_project)
    qtbot.waitUntil(lambda: len(window.session.variants) == 2, timeout=60000)
    assert asked == ["Where is hello_world_int8.tflite now?"]
    assert window.session.model is not None and Path(window.session.model.path) == moved
    window._closing_confirmed = True
    window.close()


def test_a_changed_model_is_flagged_and_opens_without_its_old_variants(
    qtbot: Any, saved_project: Path, reference_models: Path
) -> None:
    model = Path(read_project(saved_project)["session"]["model"]["path"])
    shutil.copy(reference_models / "hello_world_float.tflite", model)  # same name, other content
    window = _new_window(qtbot)
    with qtbot.waitSignal(window.session.model_changed, timeout=30000):
        window.projects.open(saved_project)
    qtbot.waitUntil(lambda: _dialog(window, "errorDialog") is not None, timeout=5000)
    assert "changed since the project was saved" in _dialog(window, "errorDialog").text()  # type: ignore[union-attr]
    assert window.session.variants == [] and window.session.board.id == "raspberry_pi_pico"
    window._closing_confirmed = True
    window.close()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x01 not text", "not a TinyML Workbench project"),
        (json.dumps({"kind": "something-else", "session": {}}).encode(), "not a TinyML Workbench project"),
        (json.dumps({"kind": "tinyml-workbench-project", "version": 99, "session": {}}).encode(), "newer"),
    ],
)
def test_a_file_that_is_not_a_project_says_so_in_one_line(
    qtbot: Any, tmp_path: Path, content: bytes, message: str
) -> None:
    bad = tmp_path / "bad.tmlw"
    bad.write_bytes(content)
    window = _new_window(qtbot)
    window.open(bad)
    qtbot.waitUntil(lambda: _dialog(window, "errorDialog") is not None, timeout=5000)
    text = _dialog(window, "errorDialog").text()  # type: ignore[union-attr]
    assert message in text and "\n" not in text
    assert window.session.model is None or window.session.model.name != "bad.tmlw"
    window._closing_confirmed = True
    window.close()


def test_another_model_opened_after_a_project_is_not_saved_over_it(
    qtbot: Any, saved_project: Path, reference_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = saved_project.read_bytes()
    window = _new_window(qtbot)
    window.projects.open(saved_project)
    qtbot.waitUntil(lambda: len(window.session.variants) == 2, timeout=60000)
    assert window.projects.path == saved_project.resolve()
    window._closing_confirmed = True  # the variants are the project's: opening another asks nothing
    with qtbot.waitSignal(window.session.model_changed, timeout=30000):
        window.open(reference_models / "hello_world_float.tflite")
    assert window.projects.path is None and not window.windowTitle().startswith("hello.tmlw")
    other = tmp_path / "other.tmlw"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(other), ""))
    assert window.projects.save() == other  # asked where, never over the project it left
    assert saved_project.read_bytes() == before
    window.close()


def test_a_project_whose_model_cannot_be_read_is_not_opened(qtbot: Any, saved_project: Path) -> None:
    model = Path(read_project(saved_project)["session"]["model"]["path"])
    model.write_bytes(b"not a model at all")  # changed, and unreadable
    window = _new_window(qtbot)
    window.projects.open(saved_project)
    qtbot.waitUntil(lambda: _dialog(window, "errorDialog") is not None, timeout=30000)
    assert window.projects.path is None and window.session.model is None
    window._closing_confirmed = True
    window.close()
