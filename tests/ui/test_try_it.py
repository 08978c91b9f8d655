"""Try it never shows a stale answer: every sample runs, beside the chosen variant, in percentages;
an error clears the result; a picture runs on an image model. No TensorFlow: the sample .tflite
runs on TFLM and the variant is a stripped copy of it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog, QTableWidget

from tests.conftest import SAMPLES
from workbench.optimize.convert import Variant, optimize_model
from workbench.optimize.plan import Plan
from workbench.ui.main_window import MainWindow
from workbench.ui.widgets.try_it import TryItPanel
from workbench.units import probability

CELL = re.compile(r"^\d  \((100|\d{1,2}\.\d|<0\.1)%\)$")


@pytest.fixture
def window(qtbot: Any) -> MainWindow:
    main = MainWindow()
    qtbot.addWidget(main)
    main.show()
    main.open(SAMPLES / "digits_float.tflite")
    qtbot.waitUntil(lambda: main.session.analysis is not None and main.session.analysis.tflm is not None, timeout=60000)
    yield main
    main._closing_confirmed = True  # the variant is left unsaved on purpose
    main.close()


def _variant(window: MainWindow) -> Variant:
    model, analysis = window.session.model, window.session.analysis
    assert model is not None and analysis is not None
    variant = optimize_model(model, analysis, Plan(quant="float32", strip=True))
    assert window.session.add_variant(variant, window.session.generation)
    window.session.choose_variant(variant)
    return variant


def _run(qtbot: Any, panel: TryItPanel) -> None:
    panel.run()
    _finished(qtbot, panel)


def _finished(qtbot: Any, panel: TryItPanel) -> None:
    qtbot.waitUntil(lambda: panel.run_button.isEnabled(), timeout=60000)


def _texts(table: QTableWidget) -> list[str]:
    return [table.item(r, c).text() for r in range(table.rowCount()) for c in range(table.columnCount())]


def test_every_shipped_sample_runs_beside_the_chosen_variant_in_percentages(qtbot: Any, window: MainWindow) -> None:
    variant = _variant(window)
    panel = window.inspect.try_it
    assert panel.compare_box.isEnabled() and variant.label in panel.compare_box.text()
    panel.all_samples()  # fills in every shipped sample and runs them
    _finished(qtbot, panel)
    table = panel.samples_table
    assert table.rowCount() == 10
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers == ["#", "Expected", "Original", variant.label]
    assert [table.item(r, 1).text() for r in range(10)] == [str(d) for d in range(10)]
    for row in range(10):
        for column in (2, 3):
            assert CELL.match(table.item(row, column).text()), table.item(row, column).text()
    assert "Original: 10 of 10 as expected" in panel.result.text()
    assert panel.table.rowCount() == 10  # every class of the selected sample
    assert not any("e-" in text for text in _texts(table) + _texts(panel.table))


def test_an_error_clears_the_previous_result(qtbot: Any, window: MainWindow) -> None:
    panel = window.inspect.try_it
    _run(qtbot, panel)
    assert panel.result.text().startswith("Prediction: 0") and panel.table.rowCount() == 10
    panel.editor.setPlainText("cat")
    panel.run()
    assert panel.result.text() == "⚠ input: 'cat' on line 1 is not a number"
    assert panel.samples_table.rowCount() == 0 and panel.table.rowCount() == 0


def test_a_failed_run_reaches_the_one_error_place_and_clears_the_result(qtbot: Any, window: MainWindow) -> None:
    panel = window.inspect.try_it
    _run(qtbot, panel)
    panel.editor.setPlainText("0.1, 0.2, 0.3")
    with qtbot.waitSignal(window.session.error, timeout=60000) as caught:
        panel.run()
    assert "3 values per sample" in caught.args[0].message and "expects 64" in caught.args[0].message
    assert panel.result.text().startswith("⚠") and panel.samples_table.rowCount() == 0
    assert panel.run_button.isEnabled()


def test_a_picture_runs_on_the_image_model(
    qtbot: Any, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    seven = np.loadtxt(SAMPLES / "digits_samples.csv", delimiter=",")[7].reshape(8, 8)
    picture = tmp_path / "seven.png"
    Image.fromarray((seven * 255).astype("uint8")).resize((64, 64), Image.Resampling.NEAREST).convert("RGB").save(
        picture
    )
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *args, **kwargs: ([str(picture)], ""))
    panel = window.inspect.try_it
    panel.open_inputs()
    qtbot.waitUntil(lambda: "seven.png" in panel.source.text(), timeout=30000)
    assert "resized to 8×8, grey" in panel.source.text() and not panel.preview.isHidden()
    _run(qtbot, panel)
    assert panel.result.text().startswith("Prediction: 7")


def test_a_new_variant_or_model_clears_the_result(qtbot: Any, window: MainWindow) -> None:
    panel = window.inspect.try_it
    _run(qtbot, panel)
    assert panel.samples_table.rowCount() == 1
    _variant(window)  # chosen on Optimize after the run: the answer above is not its answer
    assert panel.samples_table.rowCount() == 0 and "press Run" in panel.result.text()
    _run(qtbot, panel)
    assert panel.samples_table.columnCount() == 4  # #, Expected, Original, the variant
    window.session.open(SAMPLES / "digits_int8.tflite")
    qtbot.waitUntil(lambda: window.session.model is not None and window.session.model.name == "digits_int8.tflite")
    assert panel.samples_table.rowCount() == 0 and panel.result.text() == ""


def test_probabilities_read_as_percentages() -> None:
    assert [probability(v) for v in (1.0, 0.9996, 0.982, 0.0005, 2.7433e-12, 0.0)] == [
        "100%",
        "100%",
        "98.2%",
        "0.1%",
        "<0.1%",
        "0%",
    ]
