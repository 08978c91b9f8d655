"""The app's state without Qt and without TensorFlow: every change a page makes, as plain calls.

Models are the real bundled .tflite sample and a reference model from TFLM's repository, opened
by the engine's own loader; variants are real Variant objects built from real analyses.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SAMPLES
from workbench.core.analysis import Analysis, analyze, graph_figures
from workbench.core.errors import WorkbenchError
from workbench.core.loading import load_model
from workbench.core.model import Model
from workbench.core.tflm import TflmReport
from workbench.optimize.convert import Variant
from workbench.optimize.estimate import Estimate, Figures
from workbench.optimize.plan import Plan
from workbench.plugins import load_boards
from workbench.session import DeployTarget, MonitorConnection, Session

REFERENCE = Path(__file__).parents[2] / "shared" / "models"


class Heard:
    """Every event of a session, in order, with what it carried."""

    def __init__(self, session: Session) -> None:
        self.events: list[tuple[str, Any]] = []
        for name, event in vars(session).items():
            if hasattr(event, "connect") and hasattr(event, "emit"):
                event.connect(lambda *values, name=name: self.events.append((name, values[0] if values else None)))

    def names(self) -> list[str]:
        return [name for name, _ in self.events]


def _opened(path: Path) -> tuple[Model, Analysis]:
    model = load_model(path)
    return model, graph_figures(model)


def _variant(model: Model, plan: Plan) -> Variant:
    figures = Figures(model.size_bytes, None, model.size_bytes)
    return Variant(plan, model.tflite, analyze(model), Estimate(model.size_bytes, None, model.size_bytes), figures, 0.0)


@pytest.fixture
def session() -> Session:
    return Session(load_boards())


@pytest.fixture(scope="module")
def digits() -> tuple[Model, Analysis]:
    return _opened(SAMPLES / "digits_int8.tflite")


def test_opening_a_model_numbers_it_and_tells_in_order(session: Session, digits: tuple[Model, Analysis]) -> None:
    heard = Heard(session)
    session.loading(SAMPLES / "digits_int8.tflite")
    generation = session.model_opened(*digits)
    assert generation == session.generation == 1
    assert heard.names() == ["model_loading", "variants_changed", "model_changed", "analysis_ready"]
    assert session.model_path == SAMPLES / "digits_int8.tflite"
    assert len(session.model_hash) == 64 and session.model_hash == session.to_json()["model"]["sha256"]


def test_switching_models_drops_the_old_ones_jobs_variants_and_late_results(
    session: Session, digits: tuple[Model, Analysis]
) -> None:
    first = session.model_opened(*digits)
    session.job_started("load")  # no model's job: it survives a switch
    session.job_started("tflm", for_model=True)
    session.job_started("convert", for_model=True)
    assert session.add_variant(_variant(digits[0], Plan()), first)
    stale: list[list[str]] = []
    session.stale_jobs.connect(stale.append)

    second = session.model_opened(*_opened(REFERENCE / "person_detect.tflite"))
    assert stale == [["tflm", "convert"]]
    assert session.jobs == {"load": None}
    assert session.variants == [] and session.chosen_variant is None
    late = TflmReport(True, [], 1234, 2048, None)
    assert not session.measured(late, first)  # TFLM's answer for the model that is gone
    assert session.analysis is not None and session.analysis.tflm is None
    assert not session.add_variant(_variant(digits[0], Plan()), first)
    assert session.measured(late, second) and session.analysis.tflm is late


def test_board_plan_variants_and_choice_are_plain_calls(session: Session, digits: tuple[Model, Analysis]) -> None:
    generation = session.model_opened(*digits)
    heard = Heard(session)
    session.set_board("raspberry_pi_pico")
    assert session.board is not None and session.board.id == "raspberry_pi_pico"
    fit = session.fit()
    assert fit is not None
    with pytest.raises(WorkbenchError, match="unknown board 'no_such_board'"):
        session.set_board("no_such_board")
    session.set_plan(Plan(quant="int8", strip=True))
    session.set_plan(Plan(quant="int8", strip=True))  # the same plan again: no event
    int8, stripped = _variant(digits[0], Plan()), _variant(digits[0], Plan(strip=True))
    session.add_variant(int8, generation)
    session.add_variant(stripped, generation)
    session.choose_variant(stripped)
    assert session.chosen_variant is stripped and session.unsaved_variants() == [int8, stripped]
    stripped.saved_to = Path("/tmp/digits_int8.tflite")
    assert session.unsaved_variants() == [int8]
    with pytest.raises(WorkbenchError, match="belongs to another model"):
        session.choose_variant(_variant(digits[0], Plan()))
    assert heard.names() == [
        "board_changed",
        "plan_changed",
        "variant_added",
        "variants_changed",
        "variant_added",
        "variants_changed",
        "variants_changed",
    ]


def test_deploy_target_and_monitor_connection_change_field_by_field(session: Session) -> None:
    targets: list[DeployTarget] = []
    session.target_changed.connect(targets.append)
    session.target_changed.connect(lambda target: targets.append(session.target))  # already current when told
    session.set_target(format="cmake", folder="/tmp/out")
    session.set_target(format="cmake")  # unchanged: no event
    assert targets == [DeployTarget(format="cmake", folder="/tmp/out")] * 2
    session.set_monitor(port="/dev/ttyACM0", baud=921600, board="virtual", connected=True)
    assert session.monitor == MonitorConnection("/dev/ttyACM0", 921600, "auto", "", "virtual", True)
    with pytest.raises(TypeError):
        session.set_target(colour="red")


def test_a_session_goes_to_json_and_back(session: Session, digits: tuple[Model, Analysis]) -> None:
    generation = session.model_opened(*digits)
    session.set_board("arduino_nano33_ble_sense")
    session.set_plan(Plan(quant="int16x8", sparsity=0.5))
    variant = _variant(digits[0], Plan(strip=True))
    session.add_variant(variant, generation)
    session.choose_variant(variant)
    session.set_target(format="arduino", folder="/tmp/export")
    session.set_monitor(port="/dev/ttyUSB0", baud=9600, format="csv", connected=True)
    saved = json.loads(json.dumps(session.to_json()))  # plain JSON, nothing else
    assert saved["chosen_variant"] == 0 and saved["variants"][0]["plan"]["strip"] is True
    assert saved["monitor"]["connected"] is False  # a connection is never restored as open

    again = Session(load_boards())
    assert again.restore(saved) == str(SAMPLES / "digits_int8.tflite")
    assert again.board is not None and again.board.id == "arduino_nano33_ble_sense"
    assert again.plan == Plan(quant="int16x8", sparsity=0.5)
    assert again.target == session.target
    assert again.monitor == MonitorConnection("/dev/ttyUSB0", 9600, "csv")
    assert again.to_json()["board"] == saved["board"]


def test_a_session_file_from_elsewhere_is_refused_or_read_leniently(session: Session) -> None:
    with pytest.raises(WorkbenchError, match="not a workbench session file"):
        session.restore({"version": 99})
    with pytest.raises(WorkbenchError, match="not a workbench session file"):
        session.restore([])  # type: ignore[arg-type]
    assert session.restore({"version": 1, "board": "gone_board", "plan": {"quant": "float32", "colour": 1}}) is None
    assert session.board is None and session.plan == Plan(quant="float32")


def test_the_session_loads_neither_qt_nor_tensorflow() -> None:
    code = (
        "import sys\n"
        "from workbench.session import Session\n"
        "from workbench.plugins import load_boards\n"
        "from workbench.core.loading import load_model\n"
        "from workbench.core.analysis import graph_figures\n"
        f"model = load_model({str(SAMPLES / 'digits_int8.tflite')!r})\n"
        "session = Session(load_boards())\n"
        "session.model_opened(model, graph_figures(model))\n"
        "session.set_board('raspberry_pi_pico')\n"
        "print([m for m in ('tensorflow', 'keras', 'PySide6', 'pyqtgraph', 'tflite_micro') if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
