"""Evaluation: what an optimization costs, as a typed result with one wording of it.

`summary`, `short` and `verdict` are the words the command line, the result card and the compare
table all print; `result_verdict` colours a verified result by what matters: accuracy lost,
calibration on random inputs or with fewer samples than asked, not running on TFLM.
`workbench.optimize.evaluate` computes it (in the child process); this module needs no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.core.fit import BAD, GOOD, TIGHT, UNKNOWN
from workbench.optimize.intervals import CONFIDENCE, Interval, paired_difference_interval, wilson_interval

MIN_TRUSTED_SAMPLES = 300  # below this, a measured accuracy is too uncertain to state as a fact
NOTICEABLE_LOSS = 0.01  # an accuracy loss of a point or more is worth a warning colour
SERIOUS_LOSS = 0.03  # three points or more: the optimization costs too much
NOTICEABLE_ERROR_GROWTH = 0.10  # mean absolute error 10% above the float model's
SERIOUS_ERROR_GROWTH = 0.50


@dataclass(frozen=True)
class AccuracyChange:
    """Top-1 accuracy of the float and the optimized model on the same labelled samples."""

    samples: int
    float_correct: int
    optimized_correct: int
    float_only: int  # samples only the float model got right
    optimized_only: int  # samples only the optimized model got right

    @property
    def float_accuracy(self) -> float:
        return self.float_correct / self.samples

    @property
    def optimized_accuracy(self) -> float:
        return self.optimized_correct / self.samples

    @property
    def change(self) -> float:
        """Optimized minus float accuracy, as a fraction (-0.002 is -0.2 points)."""
        return self.optimized_accuracy - self.float_accuracy

    @property
    def float_interval(self) -> Interval:
        return wilson_interval(self.float_correct, self.samples)

    @property
    def optimized_interval(self) -> Interval:
        return wilson_interval(self.optimized_correct, self.samples)

    @property
    def change_interval(self) -> Interval:
        """Paired 95% interval of `change` (see `paired_difference_interval` for why paired)."""
        both = self.float_correct - self.float_only
        neither = self.samples - both - self.float_only - self.optimized_only
        return paired_difference_interval(both, self.float_only, self.optimized_only, neither)

    def to_json(self) -> dict[str, Any]:
        return {
            "float": round(self.float_accuracy, 6),
            "optimized": round(self.optimized_accuracy, 6),
            "change": round(self.change, 6),
            "float_interval": self.float_interval.to_json(),
            "optimized_interval": self.optimized_interval.to_json(),
            "change_interval": self.change_interval.to_json(),
            "confidence": CONFIDENCE,
            "float_correct": self.float_correct,
            "optimized_correct": self.optimized_correct,
            "float_only_correct": self.float_only,
            "optimized_only_correct": self.optimized_only,
        }

    @staticmethod
    def from_json(data: dict[str, Any], samples: int) -> AccuracyChange:
        return AccuracyChange(
            samples,
            int(data["float_correct"]),
            int(data["optimized_correct"]),
            int(data["float_only_correct"]),
            int(data["optimized_only_correct"]),
        )


@dataclass(frozen=True)
class ErrorChange:
    """Mean absolute error of both models against regression targets; `change_interval` is a
    paired 95% interval of (optimized - float), from the per-sample differences."""

    float_mae: float
    optimized_mae: float
    change_interval: Interval

    @property
    def change(self) -> float:
        return self.optimized_mae - self.float_mae

    @property
    def growth(self) -> float:
        """How much larger the optimized error is, as a fraction of the float error."""
        if self.float_mae > 0:
            return self.change / self.float_mae
        return 0.0 if self.change <= 0 else float("inf")

    def to_json(self) -> dict[str, Any]:
        return {
            "float": self.float_mae,
            "optimized": self.optimized_mae,
            "change": self.change,
            "change_interval": self.change_interval.to_json(),
            "confidence": CONFIDENCE,
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> ErrorChange:
        return ErrorChange(float(data["float"]), float(data["optimized"]), Interval.from_json(data["change_interval"]))


@dataclass(frozen=True)
class Fidelity:
    """How closely the optimized model follows the float one (no labels needed)."""

    output_snr_db: float | None  # None: identical outputs
    top1_agreement: float | None = None  # classifiers: share of samples with the same top class
    agreement_interval: Interval | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"output_snr_db": self.output_snr_db}
        if self.top1_agreement is not None:
            data["top1_agreement"] = self.top1_agreement
            if self.agreement_interval is not None:
                data["top1_agreement_interval"] = self.agreement_interval.to_json()
        return data

    @staticmethod
    def from_json(data: dict[str, Any]) -> Fidelity:
        interval = data.get("top1_agreement_interval")
        return Fidelity(
            data.get("output_snr_db"),
            data.get("top1_agreement"),
            Interval.from_json(interval) if interval else None,
        )

    @property
    def snr_text(self) -> str:
        return "exact" if self.output_snr_db is None else f"{self.output_snr_db:.1f} dB"


@dataclass(frozen=True)
class Evaluation:
    """What an optimization costs on the evaluation data: accuracy (classifiers with labels), mean
    absolute error (regression with targets) or, without labels, fidelity to the float model."""

    kind: str  # "classification" or "regression"
    samples: int
    fidelity: Fidelity
    accuracy: AccuracyChange | None = None
    mae: ErrorChange | None = None
    confusion: dict[str, list[list[int]]] | None = None  # "float"/"optimized": rows true, columns predicted

    @property
    def labelled(self) -> bool:
        return self.accuracy is not None or self.mae is not None

    @property
    def level(self) -> str:
        """good, tight (worth a look), bad (costs too much) or unknown (no labels to judge by)."""
        if self.accuracy is not None:
            acc = self.accuracy
            loss = -acc.change
            trusted = self.samples >= MIN_TRUSTED_SAMPLES
            if loss >= NOTICEABLE_LOSS and (acc.change_interval.high < 0 or (trusted and loss >= SERIOUS_LOSS)):
                return BAD
            if loss >= NOTICEABLE_LOSS or acc.change_interval.low <= -SERIOUS_LOSS or not trusted:
                return TIGHT
            return GOOD
        if self.mae is not None:
            growth = self.mae.growth
            if growth >= SERIOUS_ERROR_GROWTH and self.mae.change_interval.low > 0:
                return BAD
            if growth >= NOTICEABLE_ERROR_GROWTH or self.samples < MIN_TRUSTED_SAMPLES:
                return TIGHT
            return GOOD
        agreement = self.fidelity.top1_agreement
        if agreement is not None and agreement < 0.8:
            return BAD
        if agreement is not None and agreement < 0.95:
            return TIGHT
        return UNKNOWN

    @property
    def summary(self) -> str:
        """One line: what was measured, on how many samples, and how sure it is."""
        if self.accuracy is not None:
            acc = self.accuracy
            low, high = acc.optimized_interval.low, acc.optimized_interval.high
            return (
                f"Accuracy on {self.samples} labelled samples: float {acc.float_accuracy:.1%}, optimized "
                f"{acc.optimized_accuracy:.1%} (95% interval {low:.1%} to {high:.1%}); change {points(acc.change)} "
                f"(95% interval {points_span(acc.change_interval)})"
            )
        if self.mae is not None:
            mae = self.mae
            return (
                f"Mean absolute error on {self.samples} labelled samples: float {mae.float_mae:.4g}, optimized "
                f"{mae.optimized_mae:.4g}; change {mae.change:+.3g} (95% interval {mae.change_interval.low:+.3g} "
                f"to {mae.change_interval.high:+.3g})"
            )
        text = f"No labels: fidelity to the float model on {self.samples} samples - output SNR {self.fidelity.snr_text}"
        agreement = self.fidelity.top1_agreement
        if agreement is not None:
            text += f", same top class {agreement:.1%} of the time"
            interval = self.fidelity.agreement_interval
            if interval is not None:
                text += f" (95% interval {interval.low:.1%} to {interval.high:.1%})"
        return text

    @property
    def short(self) -> str:
        """A few words for a table cell: '99.1% (-0.2 pts, n=450)'."""
        if self.accuracy is not None:
            return f"{self.accuracy.optimized_accuracy:.1%} ({points(self.accuracy.change, 'pts')}, n={self.samples})"
        if self.mae is not None:
            return f"MAE {self.mae.optimized_mae:.3g} (float {self.mae.float_mae:.3g}, n={self.samples})"
        if self.fidelity.top1_agreement is not None:
            return f"{self.fidelity.top1_agreement:.1%} agree (no labels, n={self.samples})"
        return f"SNR {self.fidelity.snr_text} (no labels)"

    @property
    def verdict(self) -> str:
        """What the measurement means, in a few words: 'accuracy kept', 'lost 10.0 points'."""
        level = self.level
        if self.accuracy is not None:
            acc = self.accuracy
            span = f"(95% interval {points_span(acc.change_interval)})"
            if level == BAD:
                return f"Accuracy lost: {points(acc.change)} {span}"
            if self.samples < MIN_TRUSTED_SAMPLES:
                return f"Too few labelled samples ({self.samples}) to judge: {points(acc.change)} {span}"
            if level == TIGHT:
                return f"Accuracy may have dropped: {points(acc.change)} {span}"
            return f"Accuracy kept: it changed by {points(acc.change, 'percentage points')} {span}"
        if self.mae is not None:
            if level == BAD:
                return f"Error grew by {self.mae.growth:.0%}"
            if self.samples < MIN_TRUSTED_SAMPLES:
                return f"Too few labelled samples ({self.samples}) to judge the error"
            return f"Error {'grew' if self.mae.change > 0 else 'changed'} by {self.mae.growth:+.0%}"
        if level in (BAD, TIGHT) and self.fidelity.top1_agreement is not None:
            return f"Differs from the float model on {1 - self.fidelity.top1_agreement:.0%} of the samples"
        return "Accuracy not measured: the evaluation data has no labels"

    @property
    def warnings(self) -> list[str]:
        """What limits trust in these figures."""
        if self.samples >= MIN_TRUSTED_SAMPLES:
            return []
        if self.accuracy is not None:
            interval = self.accuracy.optimized_interval
            return [
                f"Only {self.samples} labelled samples: the optimized accuracy could be anywhere from "
                f"{interval.low:.0%} to {interval.high:.0%}. Use a few hundred ({MIN_TRUSTED_SAMPLES} or more) "
                "for a figure to trust."
            ]
        return [
            f"Only {self.samples} evaluation samples: use a few hundred ({MIN_TRUSTED_SAMPLES} or more) for figures to trust."
        ]

    def to_json(self) -> dict[str, Any]:
        """The `optimize --json` fields: kind, samples, fidelity, and accuracy + confusion or mae."""
        data: dict[str, Any] = {"kind": self.kind, "samples": self.samples, "fidelity": self.fidelity.to_json()}
        if self.accuracy is not None:
            data["accuracy"] = self.accuracy.to_json()
        if self.mae is not None:
            data["mae"] = self.mae.to_json()
        if self.confusion is not None:
            data["confusion"] = self.confusion
        data["level"] = self.level
        data["summary"] = self.summary
        return data

    @staticmethod
    def from_json(data: dict[str, Any]) -> Evaluation:
        samples = int(data["samples"])
        return Evaluation(
            kind=str(data["kind"]),
            samples=samples,
            fidelity=Fidelity.from_json(data.get("fidelity", {})),
            accuracy=AccuracyChange.from_json(data["accuracy"], samples) if "accuracy" in data else None,
            mae=ErrorChange.from_json(data["mae"]) if "mae" in data else None,
            confusion=data.get("confusion"),
        )


@dataclass(frozen=True)
class Verdict:
    """How a verified result looks on the whole, worst first: a level for the colour and the
    reasons behind it."""

    level: str
    findings: list[tuple[str, str]] = field(default_factory=list)  # (level, what), worst first

    @property
    def reasons(self) -> list[str]:
        return [what for _, what in self.findings]

    @property
    def text(self) -> str:
        return ". ".join(self.reasons)


def result_verdict(
    evaluation: Evaluation | None, runs_on_tflm: bool | None, tflm_problem: str = "", warnings: list[str] | None = None
) -> Verdict:
    """Bad if TFLM cannot run it or accuracy is lost; tight when calibrated on random inputs, with
    fewer calibration samples than asked, too few evaluation samples or a small loss; unknown
    when nothing says how accurate it is; good otherwise."""
    found: list[tuple[str, str]] = []
    if runs_on_tflm is False:
        found.append((BAD, "Will not run on TFLM" + (f": {tflm_problem}" if tflm_problem else "")))
    if evaluation is not None:
        found.append((evaluation.level, evaluation.verdict))
    else:
        found.append((UNKNOWN, "Accuracy not measured: add evaluation data"))
    found += [(TIGHT, warning) for warning in warnings or []]
    if runs_on_tflm is True:
        found.append((GOOD, "Runs on TFLM"))
    order = {BAD: 0, TIGHT: 1, UNKNOWN: 2, GOOD: 3}
    found.sort(key=lambda item: order[item[0]])
    return Verdict(found[0][0], [(level, reason.rstrip(".")) for level, reason in found])


def points(change: float, unit: str = "points") -> str:
    """A change in accuracy in percentage points: -0.0022 -> '-0.2 points'; one that rounds to
    zero reads '0.0 points', never '-0.0' or '+0.0'."""
    return f"{_signed_points(change)} {unit}"


def points_span(interval: Interval) -> str:
    """An interval of accuracy changes: '-1.3 to +0.7 points'."""
    return f"{_signed_points(interval.low)} to {_signed_points(interval.high)} points"


def _signed_points(change: float) -> str:
    value = round(100.0 * change, 1)
    return f"{value:+.1f}" if value else "0.0"
