"""When a row of numbers reads as class probabilities: the one rule for model outputs and for
what a board prints."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# How far from 1 the sum may be: an int8 softmax dequantized (a step of 1/256 per class) and values
# a board printed with a few decimals both miss 1 by a little.
SUM_TOLERANCE = 0.05
RANGE_SLACK = 1e-6  # float rounding at the ends of [0, 1]


def sums_to_one(values: Sequence[float] | np.ndarray) -> bool:
    return abs(float(np.sum(np.asarray(values, dtype=np.float64))) - 1.0) <= SUM_TOLERANCE


def is_distribution(values: Sequence[float] | np.ndarray) -> bool:
    """Several values, each in [0, 1], summing to about 1."""
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    return (
        array.size > 1
        and bool(np.all(array >= -RANGE_SLACK) and np.all(array <= 1 + RANGE_SLACK))
        and sums_to_one(array)
    )
