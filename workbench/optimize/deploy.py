"""What goes to the board, from what Optimize holds: the chosen variant, else the model as analyzed,
with its accuracy in words; and whether a float model should be made int8 for a board first.

The Deploy page and any other face read these, so they all say the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence

from workbench.core import fit as board_fit
from workbench.core.analysis import Analysis
from workbench.core.boards import Board
from workbench.core.inference import labels_for
from workbench.core.model import Model
from workbench.export.api import DeployModel, c_name
from workbench.optimize.convert import Variant
from workbench.optimize.estimate import estimate
from workbench.optimize.evaluation import Evaluation
from workbench.optimize.plan import Plan
from workbench.units import kb

_ORDER = {board_fit.GOOD: 0, board_fit.TIGHT: 1, board_fit.UNKNOWN: 2, board_fit.BAD: 3}


def deploy_model(
    model: Model, analysis: Analysis, variant: Variant | None = None, evaluations: Sequence[Evaluation] = ()
) -> DeployModel:
    """The variant of `model` chosen for Deploy, else `model` as analyzed. `evaluations` are the
    evaluations made on Optimize: the model as analyzed takes its float accuracy from them."""
    labels = tuple(labels_for(model.path))
    value, detail = accuracy_figures(variant, evaluations)
    accuracy = f"{value} {detail}" if value else ""
    if variant is None:
        kind = "" if model.format == "tflite" else ", float conversion"
        return DeployModel(
            name=c_name(model.path.stem),
            tflite=model.tflite,
            analysis=analysis,
            labels=labels,
            origin=f"{model.name} as analyzed{kind}",
            accuracy=accuracy,
        )
    return DeployModel(
        name=c_name(f"{model.path.stem}_{variant.label}"),
        tflite=variant.tflite,
        analysis=variant.analysis,
        labels=labels,
        origin=f"{model.name}, {variant.label} variant",
        optimization=variant.label,
        accuracy=accuracy,
        reference=analysis,
    )


def accuracy_figures(variant: Variant | None, evaluations: Sequence[Evaluation] = ()) -> tuple[str, str]:
    """('99.1%', 'on 450 labelled samples · …') for the variant, or for the model as analyzed when a
    labelled evaluation on Optimize measured its float accuracy too; ('', how to measure it) when unmeasured."""
    if variant is None:
        for evaluation in reversed(evaluations):
            if evaluation.accuracy is not None:
                accuracy = evaluation.accuracy.float_accuracy
                return f"{accuracy:.1%}", f"on {evaluation.samples} labelled samples, measured on Optimize"
        return "", "Optimize measures it when you give it labelled evaluation data."
    own = variant.evaluation
    if own is None:
        return "", "Convert with labelled evaluation data on Optimize to measure it."
    if own.accuracy is not None:
        return f"{own.accuracy.optimized_accuracy:.1%}", f"on {own.samples} labelled samples · {own.verdict}"
    if own.mae is not None:
        return f"MAE {own.mae.optimized_mae:.3g}", own.verdict
    return "", own.verdict


def _memory_level(fit: board_fit.Fit) -> str:
    """How flash and RAM fit, leaving aside whether TFLM runs it."""
    levels = [fit.flash_level] + ([fit.ram_level] if fit.ram_bytes is not None else [])
    return max(levels, key=lambda level: _ORDER[level])


def int8_offer(model: Model, analysis: Analysis, board: Board) -> tuple[str, str]:
    """(headline, detail) offering Optimize when this float model fits `board` badly or tightly and
    its int8 version would fit clearly better (the instant estimate); ('', '') otherwise."""
    if model.format == "tflite" or analysis.tflm is None:
        return "", ""  # a .tflite keeps its quantization; without the arena there is nothing to compare
    now = board_fit.analysis_fit(analysis, board)
    guess = estimate(model, analysis, Plan(quant="int8"))
    then = board_fit.fit(guess.flash_bytes, guess.arena_bytes, board)
    level_now, level_then = _ORDER[_memory_level(now)], _ORDER[_memory_level(then)]
    if level_now < _ORDER[board_fit.TIGHT] or level_then >= level_now:
        return "", ""
    how = "does not fit" if _memory_level(now) == board_fit.BAD else "fits only tightly on"
    ram = f" and {kb(now.ram_bytes)} of RAM" if now.ram_bytes else ""
    ram_then = f" and {kb(guess.arena_bytes)}" if guess.arena_bytes else ""
    return (
        f"This float model {how} {board.name}",
        f"it needs {kb(now.flash_bytes)} of flash{ram}. "
        f"As int8 it would take about {kb(guess.flash_bytes)}{ram_then}, with little loss of accuracy.",
    )
