"""The session's model generations and the job runner: results never cross models (no TensorFlow)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from workbench.core.errors import WorkbenchError
from workbench.tasks import Task
from workbench.ui import session as session_module
from workbench.ui.session import Session
from workbench.ui.workers import JobRunner


class Gate:
    """A job function that blocks until released, so a test decides when it ends."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.cancelled = False

    def __call__(self, value: Any, task: Task) -> Any:
        self.started.set()
        while not self.release.wait(0.01):
            if task.cancelled:
                self.cancelled = True
                task.check()
        return value


@pytest.fixture
def session(qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> Session:
    gate = Gate()
    monkeypatch.setattr(session_module, "_measure", lambda model, task: gate(None, task))
    made = Session()
    made.measure_gate = gate  # type: ignore[attr-defined]
    yield made
    gate.release.set()
    made.jobs.shutdown()


def _open(qtbot: Any, session: Session, path: Path) -> None:
    with qtbot.waitSignal(session.model_changed, timeout=20000):
        session.open(path)


def test_a_result_for_a_model_that_was_replaced_never_arrives(
    qtbot: Any, session: Session, reference_models: Path
) -> None:
    _open(qtbot, session, reference_models / "hello_world_int8.tflite")
    first_generation = session.generation
    gate = Gate()
    delivered: list[Any] = []
    session.start_for_model("convert", gate, "variant of A", on_success=delivered.append, on_error=delivered.append)
    assert gate.started.wait(10)
    _open(qtbot, session, reference_models / "micro_speech_quantized.tflite")
    assert session.generation == first_generation + 1
    qtbot.waitUntil(lambda: gate.cancelled, timeout=10000)  # opening B cancelled A's job
    gate.release.set()
    qtbot.waitUntil(lambda: not session.jobs.running("convert"), timeout=10000)
    assert delivered == []
    assert session.model is not None and session.model.name == "micro_speech_quantized.tflite"


def test_a_variant_of_another_model_is_never_added_nor_chosen(
    qtbot: Any, session: Session, reference_models: Path
) -> None:
    _open(qtbot, session, reference_models / "hello_world_int8.tflite")
    old = session.generation
    _open(qtbot, session, reference_models / "hello_world_float.tflite")
    variant: Any = object()
    assert session.add_variant(variant, old) is False
    assert session.variants == [] and session.chosen_variant is None
    assert session.add_variant(variant, session.generation) is True
    assert session.variants == [variant]


def test_a_failed_open_leaves_the_open_model_and_its_measurement_running(
    qtbot: Any, session: Session, reference_models: Path, tmp_path: Path
) -> None:
    _open(qtbot, session, reference_models / "hello_world_int8.tflite")
    gate = session.measure_gate  # type: ignore[attr-defined]
    assert gate.started.wait(10)
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"not a model at all")
    with qtbot.waitSignal(session.error, timeout=20000) as failed:
        session.open(broken)
    assert isinstance(failed.args[0], WorkbenchError) and "broken.tflite" in failed.args[0].message
    assert session.jobs.running("tflm") and not gate.cancelled
    with qtbot.waitSignal(session.analysis_changed, timeout=20000):
        gate.release.set()
    assert session.model is not None and session.model.name == "hello_world_int8.tflite"


def test_esc_cancels_the_job_in_front_and_leaves_the_others(qtbot: Any) -> None:
    runner = JobRunner()
    behind, front = Gate(), Gate()
    runner.start("behind", behind, 1, on_success=lambda _: None, on_error=lambda _: None)
    runner.start("front", front, 2, on_success=lambda _: None, on_error=lambda _: None)
    assert behind.started.wait(10) and front.started.wait(10)
    assert runner.front is not None and runner.front.key == "front"
    runner.cancel_front()
    qtbot.waitUntil(lambda: front.cancelled, timeout=10000)
    assert runner.running("behind") and not behind.cancelled
    assert runner.front is not None and runner.front.key == "behind"
    behind.release.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=10000)
    runner.shutdown()


def test_only_the_front_job_moves_the_progress_bar(qtbot: Any) -> None:
    runner = JobRunner()
    reports: list[tuple[str, str]] = []
    runner.progress.connect(lambda key, _f, status: reports.append((key, status)))
    report_behind, reported_behind, report_in_front, end_b = (threading.Event() for _ in range(4))

    def job_a(task: Task) -> None:
        assert report_behind.wait(10)
        task.progress(0.3, "A while B is in front")
        reported_behind.set()
        assert report_in_front.wait(10)
        task.progress(0.6, "A in front")

    def job_b(task: Task) -> None:
        task.progress(0.1, "B")
        assert end_b.wait(10)

    runner.start("a", job_a, on_success=lambda _: None, on_error=lambda _: None)
    runner.start("b", job_b, on_success=lambda _: None, on_error=lambda _: None)
    qtbot.waitUntil(lambda: reports == [("b", "B")], timeout=10000)
    report_behind.set()
    assert reported_behind.wait(10)
    end_b.set()  # B's end is queued after A's report, so A reported while B was still in front
    qtbot.waitUntil(lambda: not runner.running("b"), timeout=10000)
    report_in_front.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=10000)
    assert reports == [("b", "B"), ("a", "A in front")]
    runner.shutdown()


def test_an_unexpected_error_in_a_job_reaches_the_error_callback_as_a_message(qtbot: Any) -> None:
    runner = JobRunner()
    errors: list[WorkbenchError] = []

    def broken(task: Task) -> None:
        raise KeyError("a bug")

    runner.start("bug", broken, on_success=lambda _: None, on_error=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=10000)
    assert "Something went wrong (KeyError in bug)" in errors[0].message and "\n" not in errors[0].message
    assert "a bug" not in errors[0].message and "KeyError: 'a bug'" in errors[0].details
    runner.shutdown()


def test_a_bug_in_a_result_handler_reaches_the_one_error_place(qtbot: Any) -> None:
    runner = JobRunner()
    reported: list[WorkbenchError] = []
    runner.unexpected.connect(reported.append)

    def broken_handler(_result: Any) -> None:
        raise IndexError("handler bug")

    runner.start("fine", lambda task: 1, on_success=broken_handler, on_error=lambda _: None)
    qtbot.waitUntil(lambda: bool(reported), timeout=10000)
    assert "IndexError in showing the result of fine" in reported[0].message
    runner.shutdown()
