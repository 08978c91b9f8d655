"""What the Deploy page sends to the board, built from what the session holds: the variant chosen
on Optimize when it is one of the open model's, else the open model as analyzed; with its
accuracy in words and, for a float model that fits a board badly, the int8 offer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.core import fit as board_fit
from workbench.core.analysis import Analysis
from workbench.core.boards import Board
from workbench.core.inference import labels_for
from workbench.core.model import Model
from workbench.export.api import DeployModel, c_name
from workbench.ui.session import Session
from workbench.units import kb

if TYPE_CHECKING:
    from workbench.optimize.convert import Variant

_LEVELS = {board_fit.GOOD: 0, board_fit.TIGHT: 1, board_fit.UNKNOWN: 2, board_fit.BAD: 3}


def chosen_variant(session: Session) -> Variant | None:
    """The chosen variant when it is one of the open model's (never one of another model)."""
    variant = session.chosen_variant
    return variant if variant is not None and any(v is variant for v in session.variants) else None


def deploy_model(session: Session) -> DeployModel | None:
    """What Deploy sends: the chosen variant of the open model, else the open model as analyzed."""
    model, analysis = session.model, session.analysis
    if model is None or analysis is None:
        return None
    labels = tuple(labels_for(model.path))
    variant = chosen_variant(session)
    if variant is None:
        kind = "" if model.format == "tflite" else ", float conversion"
        value, detail = accuracy_figures(session, None)
        return DeployModel(
            name=c_name(model.path.stem),
            tflite=model.tflite,
            analysis=analysis,
            labels=labels,
            origin=f"{model.name} as analyzed{kind}",
            accuracy=f"{value} {detail}" if value else "",
        )
    value, detail = accuracy_figures(session, variant)
    return DeployModel(
        name=c_name(f"{model.path.stem}_{variant.label}"),
        tflite=variant.tflite,
        analysis=variant.analysis,
        labels=labels,
        origin=f"{model.name}, {variant.label} variant",
        optimization=variant.label,
        accuracy=f"{value} {detail}" if value else "",
        reference=analysis,
    )


def accuracy_figures(session: Session, variant: Variant | None) -> tuple[str, str]:
    """('99.1%', 'on 450 labelled samples …') for the variant, or for the model as opened when a
    labelled evaluation on Optimize measured it too; ('', why not) when unmeasured."""
    if variant is None:
        for evaluation in reversed([v.evaluation for v in session.variants if v.evaluation is not None]):
            if evaluation.accuracy is not None:
                accuracy = evaluation.accuracy.float_accuracy
                return f"{accuracy:.1%}", f"on {evaluation.samples} labelled samples, measured on Optimize"
        return "", "Optimize measures it when you give it labelled evaluation data."
    evaluation = variant.evaluation
    if evaluation is None:
        return "", "Convert with labelled evaluation data on Optimize to measure it."
    if evaluation.accuracy is not None:
        return f"{evaluation.accuracy.optimized_accuracy:.1%}", f"on {evaluation.samples} labelled samples · " + (
            evaluation.verdict
        )
    if evaluation.mae is not None:
        return f"MAE {evaluation.mae.optimized_mae:.3g}", evaluation.verdict
    return "", evaluation.verdict


def _memory_level(fit: board_fit.Fit) -> str:
    """How flash and RAM fit, leaving aside whether TFLM runs it."""
    levels = [fit.flash_level] + ([fit.ram_level] if fit.ram_bytes is not None else [])
    return max(levels, key=lambda level: _LEVELS[level])


def int8_offer(model: Model, analysis: Analysis, board: Board) -> str:
    """A sentence offering Optimize when this float model fits `board` badly or tightly and its
    int8 version would fit clearly better (instant estimate); '' otherwise."""
    from workbench.optimize.estimate import estimate
    from workbench.optimize.plan import Plan

    if model.format == "tflite" or analysis.tflm is None:
        return ""  # a .tflite keeps its quantization; without the arena there is nothing to compare
    now = board_fit.analysis_fit(analysis, board)
    guess = estimate(model, analysis, Plan(quant="int8"))
    then = board_fit.fit(guess.flash_bytes, guess.arena_bytes, board)
    if _LEVELS[_memory_level(now)] < 1 or _LEVELS[_memory_level(then)] >= _LEVELS[_memory_level(now)]:
        return ""
    how = "does not fit" if _memory_level(now) == board_fit.BAD else "fits only tightly on"
    ram = f" and {kb(now.ram_bytes)} of RAM" if now.ram_bytes else ""
    ram_then = f" and {kb(guess.arena_bytes)}" if guess.arena_bytes else ""
    return (
        f"<b>This float model {how} {board.name}</b>: it needs {kb(now.flash_bytes)} of flash{ram}. "
        f"As int8 it would take about {kb(guess.flash_bytes)}{ram_then}, with little loss of accuracy."
    )
