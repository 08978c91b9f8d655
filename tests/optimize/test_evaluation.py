"""How far an accuracy can be trusted: the interval math and the typed evaluation, without TensorFlow."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.core.fit import BAD, GOOD, TIGHT, UNKNOWN
from workbench.optimize.evaluate import evaluate_outputs
from workbench.optimize.evaluation import MIN_TRUSTED_SAMPLES, Evaluation, result_verdict
from workbench.optimize.intervals import paired_difference_interval, wilson_interval

CLASSES = 10


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table II, method 3.
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_wilson_interval_matches_published_values(successes: int, trials: int, low: float, high: float) -> None:
    interval = wilson_interval(successes, trials)
    assert (round(interval.low, 4), round(interval.high, 4)) == (low, high)


def _simulated_coverage(cells: tuple[float, float, float, float], n: int, runs: int, seed: int) -> tuple[float, float]:
    """Share of simulated evaluations whose paired interval holds the true change, and the mean
    width of the paired interval divided by that of two independent Wilson intervals."""
    rng = np.random.default_rng(seed)
    truth = cells[2] - cells[1]  # optimized-only minus float-only: the change in accuracy
    covered, ratios = 0, []
    for table in rng.multinomial(n, cells, size=runs):
        both, float_only, optimized_only, neither = (int(v) for v in table)
        paired = paired_difference_interval(both, float_only, optimized_only, neither)
        covered += paired.low <= truth <= paired.high
        first = wilson_interval(both + float_only, n)
        second = wilson_interval(both + optimized_only, n)
        unpaired = np.hypot(first.half_width, second.half_width) * 2
        ratios.append((paired.high - paired.low) / unpaired)
    return covered / runs, float(np.mean(ratios))


@pytest.mark.parametrize(
    "cells",
    [(0.93, 0.03, 0.01, 0.03), (0.97, 0.01, 0.005, 0.015), (0.8, 0.08, 0.04, 0.08), (0.6, 0.15, 0.15, 0.1)],
)
def test_paired_interval_holds_the_true_change_at_least_95_percent_of_the_time(
    cells: tuple[float, float, float, float],
) -> None:
    """Cells: both right, float only, optimized only, both wrong - quantization-like tables where
    the two models agree on most samples. Never overconfident, even with 50 samples; with 450
    close to 95% and narrower than two independent intervals would be."""
    coverage_few, _ = _simulated_coverage(cells, 50, runs=2000, seed=1)
    coverage_many, width_ratio = _simulated_coverage(cells, 450, runs=2000, seed=2)
    assert coverage_few >= 0.935
    assert 0.935 <= coverage_many <= 0.975
    assert width_ratio < 0.92


def test_an_unchanged_model_gets_an_interval_around_zero_that_narrows_with_samples() -> None:
    few = paired_difference_interval(10, 0, 0, 0)
    many = paired_difference_interval(446, 0, 0, 4)
    for interval in (few, many):
        assert interval.low < 0.0 < interval.high  # never a point: "+0.0 points" is not a fact
    assert many.high - many.low < (few.high - few.low) / 4
    extreme = paired_difference_interval(0, 10, 0, 0)  # the optimized model gets everything wrong
    assert -1.0 <= extreme.low < extreme.high < 0.0


def _outputs(labels: np.ndarray, wrong: list[int]) -> np.ndarray:
    """One-hot 'probabilities' that pick the label, except at `wrong` (the next class)."""
    picked = labels.copy()
    picked[wrong] = (picked[wrong] + 1) % CLASSES
    return np.eye(CLASSES)[picked]


def test_ten_labelled_samples_are_not_stated_as_plain_facts() -> None:
    labels = np.arange(10) % CLASSES
    lost_one = evaluate_outputs(_outputs(labels, []), _outputs(labels, [3]), labels)
    assert lost_one.accuracy is not None and lost_one.accuracy.optimized_accuracy == 0.9
    assert lost_one.level == TIGHT  # not a verdict of 'bad' on one sample either
    assert "10 labelled samples" in lost_one.summary and "95% interval" in lost_one.summary
    assert "Too few labelled samples (10)" in lost_one.verdict
    assert lost_one.warnings and "Only 10 labelled samples" in lost_one.warnings[0]
    unchanged = evaluate_outputs(_outputs(labels, []), _outputs(labels, []), labels)
    assert unchanged.level == TIGHT
    assert "change 0.0 points (95% interval -" in unchanged.summary


def test_on_hundreds_of_samples_a_kept_accuracy_is_good_and_a_real_loss_is_bad() -> None:
    labels = np.arange(450) % CLASSES
    kept = evaluate_outputs(_outputs(labels, [5]), _outputs(labels, [5, 17]), labels)
    assert kept.level == GOOD and kept.warnings == []
    assert kept.verdict.startswith("Accuracy kept: it changed by -0.2 percentage points")
    lost = evaluate_outputs(_outputs(labels, []), _outputs(labels, list(range(0, 450, 25))), labels)
    assert lost.level == BAD and lost.accuracy is not None
    assert lost.accuracy.change_interval.high < 0
    assert lost.verdict.startswith("Accuracy lost: -4.0 points")
    assert MIN_TRUSTED_SAMPLES <= 450


def test_json_keeps_the_command_line_fields_and_adds_the_intervals() -> None:
    labels = np.arange(300) % CLASSES
    evaluation = evaluate_outputs(_outputs(labels, [1]), _outputs(labels, [2, 3]), labels)
    data = evaluation.to_json()
    assert {"kind", "samples", "accuracy", "fidelity", "confusion"} <= set(data)
    accuracy = data["accuracy"]
    assert accuracy["float"] == pytest.approx(299 / 300) and accuracy["optimized"] == pytest.approx(298 / 300)
    low, high = accuracy["change_interval"]
    assert low < accuracy["change"] < high and accuracy["confidence"] == 0.95
    assert accuracy["optimized_interval"][0] < accuracy["optimized"] < accuracy["optimized_interval"][1]
    assert len(data["confusion"]["optimized"]) == CLASSES
    assert Evaluation.from_json(data) == evaluation


def test_regression_error_change_has_a_paired_interval() -> None:
    rng = np.random.default_rng(3)
    targets = rng.normal(size=(400, 1))
    float_out = targets + rng.normal(scale=0.1, size=targets.shape)
    optimized = float_out + rng.normal(scale=0.05, size=targets.shape)
    evaluation = evaluate_outputs(float_out, optimized, targets)
    assert evaluation.kind == "regression" and evaluation.mae is not None
    interval = evaluation.mae.change_interval
    assert interval.low <= evaluation.mae.change <= interval.high
    assert Evaluation.from_json(evaluation.to_json()) == evaluation


def test_without_labels_only_fidelity_is_claimed() -> None:
    labels = np.arange(400) % CLASSES
    evaluation = evaluate_outputs(_outputs(labels, []), _outputs(labels, [0]), None)
    assert evaluation.accuracy is None and evaluation.level == UNKNOWN
    assert evaluation.fidelity.top1_agreement == pytest.approx(399 / 400)
    assert evaluation.summary.startswith("No labels")


def test_the_verdict_is_coloured_by_what_matters() -> None:
    labels = np.arange(450) % CLASSES
    good = evaluate_outputs(_outputs(labels, []), _outputs(labels, []), labels)
    assert result_verdict(good, True).level == GOOD
    assert result_verdict(good, False, "FULLY_CONNECTED has no hybrid kernel").level == BAD
    assert result_verdict(good, False).reasons[0].startswith("Will not run on TFLM")
    random = result_verdict(good, True, warnings=["No calibration data: calibrated on random inputs over 0..1."])
    assert random.level == TIGHT and any("random inputs" in r for r in random.reasons)
    assert result_verdict(None, True).level == UNKNOWN
