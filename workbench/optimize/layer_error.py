"""What the per-layer error of a verified variant says, in words: which layers stand out and what
to do about them.

Each layer's figure is the signal-to-noise ratio (dB) of its output against the float model's
(`evaluate.per_layer_snr`). int8 layers commonly sit at 15-30 dB while accuracy holds, so a fixed
bar would call every layer bad; a layer stands out when it is far below the model's own median
(`OUTLIER_DB`), and it is a problem only when accuracy did not hold.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from workbench.core.fit import BAD, GOOD, TIGHT

OUTLIER_DB = 10.0  # this far below the model's median SNR, a layer loses markedly more than the rest
EXACT_DB = 60.0  # what an identical output (no error at all) is drawn as
OK, WATCH = "ok", "watch"  # and BAD: below the line while accuracy did not hold


def short_name(layer: dict[str, Any], width: int = 14) -> str:
    """A layer's name for a sentence: the end of its tensor name ('conv2/Relu'), cut in the middle."""
    parts = [p for p in str(layer.get("tensor", "")).split("/") if p]
    return _cut("/".join(parts[-2:]) if parts else str(layer.get("op", "")).lower(), width)


def axis_name(layer: dict[str, Any], width: int = 10) -> str:
    """A layer's name under its bar: the layer's own part of its tensor name ('conv2' of
    'model/conv2/Relu'; the last part when there is only one), cut in the middle."""
    parts = [p for p in str(layer.get("tensor", "")).split("/") if p]
    return _cut(parts[-2] if len(parts) > 1 else parts[0] if parts else str(layer.get("op", "")).lower(), width)


def _cut(name: str, width: int) -> str:
    if len(name) <= width:
        return name
    half = (width - 1) // 2
    return f"{name[:half]}…{name[-(width - 1 - half) :]}"


def layer_snr(layer: dict[str, Any]) -> float:
    value = layer.get("snr_db")
    return EXACT_DB if value is None else max(float(value), 0.0)


@dataclass(frozen=True)
class LayerErrors:
    """How each layer did (`flags`: ok, watch or bad, in the layers' order), the line drawn
    (`threshold_db`, None without layers) and one paragraph that says what it means."""

    flags: list[str]
    threshold_db: float | None
    note: str


def layer_errors(layers: list[dict[str, Any]], accuracy_level: str | None) -> LayerErrors:
    """Judge `layers` (a variant's per_layer) given how its accuracy held (an Evaluation level)."""
    if not layers:
        return LayerErrors([], None, "Per-layer error needs evaluation data: pick it on the left and convert again.")
    snrs = [layer_snr(layer) for layer in layers]
    threshold = max(statistics.median(snrs) - OUTLIER_DB, 0.0)
    kept = accuracy_level == GOOD
    problem = accuracy_level in (BAD, TIGHT)
    flags = [(BAD if problem else WATCH) if snr < threshold else OK for snr in snrs]
    worst = sorted(range(len(layers)), key=lambda i: snrs[i])[:3]
    named = ", ".join(
        f"#{layers[i]['index']} {short_name(layers[i], 24)} ({layers[i]['op']}, {snrs[i]:.1f} dB)" for i in worst
    )
    note = (
        "Each bar is how closely a layer's output follows the float model (signal-to-noise, dB: higher is "
        f"closer). Lowest: {named}. "
    )
    below = sum(flag != OK for flag in flags)
    if not below:
        note += "No layer stands out from the rest: the error is spread evenly."
    elif kept:
        note += (
            f"{below} layer{'s are' if below > 1 else ' is'} well below the others (under the dashed line), but "
            "accuracy held, so nothing needs doing; if accuracy drops later, look there first."
        )
    else:
        note += (
            f"{below} layer{'s are' if below > 1 else ' is'} well below the others (under the dashed line, "
            f"{OUTLIER_DB:.0f} dB under this model's median): that is where precision is lost. Try 16x8 "
            "(int16 activations), more calibration samples that cover real inputs, or less pruning."
        )
    return LayerErrors(flags, threshold, note)
