"""The per-layer error chart: layers named on the axis, the dashed line drawn, the layers under
it coloured by whether accuracy held, and the note under the chart saying what to do."""

from __future__ import annotations

from typing import Any

from tests.optimize.test_layer_error import LAYERS
from workbench.core.fit import BAD, GOOD
from workbench.optimize.layer_error import layer_errors
from workbench.ui.widgets.variant_views import LayerErrorChart


def _colors(chart: LayerErrorChart) -> list[str]:
    return [brush.color().name() for brush in chart.bars.opts["brushes"]]


def test_the_chart_names_its_layers_draws_the_line_and_colours_only_the_one_that_stands_out(qtbot: Any) -> None:
    chart = LayerErrorChart()
    qtbot.addWidget(chart)
    chart.show_layers(LAYERS, layer_errors(LAYERS, BAD))
    ticks = chart.getAxis("bottom")._tickLevels[0]
    assert [label for _x, label in ticks] == ["0 conv1", "1 pool1", "2 conv2", "3 dense", "4 Identity"]
    assert chart.line.isVisible() and chart.line.value() == 17.5
    red, blue = LayerErrorChart.COLORS[BAD].lower(), LayerErrorChart.COLORS["ok"].lower()
    assert _colors(chart) == [blue, blue, red, blue, blue]
    chart.show_layers(LAYERS, layer_errors(LAYERS, GOOD))  # accuracy held: a layer to watch, no alarm
    assert red not in _colors(chart) and _colors(chart)[2] != blue
