"""95% intervals for what an evaluation measures: an accuracy, the change in accuracy between two
models scored on the same samples, and the change in a mean error.

An accuracy measured on n samples is an estimate; these intervals say how far it can be trusted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
Z_95 = 1.959963984540054  # the standard normal quantile for a two-sided 95% interval


@dataclass(frozen=True)
class Interval:
    """A two-sided 95% confidence interval [low, high]."""

    low: float
    high: float

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high

    def to_json(self) -> list[float]:
        return [self.low, self.high]

    @staticmethod
    def from_json(data: list[float] | tuple[float, float]) -> Interval:
        return Interval(float(data[0]), float(data[1]))


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> Interval:
    """Wilson's score interval for a proportion (an accuracy): `successes` of `trials`.

    Unlike the textbook p ± z·sqrt(p(1-p)/n), it stays inside [0, 1] and does not collapse to a
    point at 0% or 100% (10 of 10 correct gives 72% to 100%, not 100% to 100%).
    """
    if trials <= 0:
        return Interval(0.0, 1.0)
    p = successes / trials
    denominator = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def paired_difference_interval(both: int, first_only: int, second_only: int, neither: int, z: float = Z_95) -> Interval:
    """Interval for (accuracy of the second model) - (accuracy of the first), both scored on the
    same samples: `both` samples right for both, `first_only` right only for the first,
    `second_only` right only for the second, `neither` wrong for both.

    Why paired: the float and the optimized model see the same samples, so their hits are
    strongly correlated - most samples are right for both. Subtracting two independent intervals
    ignores that and, for the small changes quantization makes, gives an interval several times
    too wide; only the discordant samples (right for one model, wrong for the other) carry
    information about the difference. A Wald interval on the discordant counts collapses to a
    single point when there are none (an unchanged model would read "+0.0 points, ±0.0"), and
    can leave [-1, 1]. Newcombe's hybrid score interval for paired proportions (Newcombe 1998,
    Statistics in Medicine 17:2635, method 10) combines the Wilson intervals of both accuracies
    with the correlation phi of the paired outcomes: it stays in [-1, 1], has a sensible width
    with no discordant samples at all, and keeps close to 95% coverage at small n.
    """
    n = both + first_only + second_only + neither
    if n <= 0:
        return Interval(-1.0, 1.0)
    p1, p2 = (both + second_only) / n, (both + first_only) / n  # second (optimized), first (float)
    l1, u1 = _bounds(wilson_interval(both + second_only, n, z))
    l2, u2 = _bounds(wilson_interval(both + first_only, n, z))
    # phi: the correlation of the two models' hits, 0 when a margin is empty (all right or all wrong)
    margins = (both + first_only) * (second_only + neither) * (both + second_only) * (first_only + neither)
    phi = (both * neither - first_only * second_only) / math.sqrt(margins) if margins else 0.0
    difference = p1 - p2
    below = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    above = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return Interval(max(-1.0, difference - below), min(1.0, difference + above))


def mean_interval(values: np.ndarray, z: float = Z_95) -> Interval:
    """Normal-approximation interval for the mean of `values` (e.g. per-sample differences in
    absolute error between two models on the same samples; pairing removes the shared part)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size == 0:
        return Interval(float("nan"), float("nan"))
    mean = float(np.mean(values))
    if values.size < 2:
        return Interval(mean, mean)
    half = z * float(np.std(values, ddof=1)) / math.sqrt(values.size)
    return Interval(mean - half, mean + half)


def _bounds(interval: Interval) -> tuple[float, float]:
    return interval.low, interval.high
