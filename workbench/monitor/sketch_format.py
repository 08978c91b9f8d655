"""What the exported sketch does to numbers and names, done here the same way.

The Arduino program that Deploy exports (workbench/export/project_templates/arduino_main.in and
inference_core.inc) prints one line per inference: `label:value label:value ...`, ended by "\\n".
The simulator prints through `sketch_line`, so a virtual board's lines are the real board's, byte
for byte, and tests read them back with the same expectations.

- Labels (`print_label`): the C string's bytes with space, tab, comma, colon, CR and LF each made
  "_" (a plotter splits at them); an empty label, or none for that output, prints `class<index>`.
  The C string ends at a NUL byte, so a label stops there too.
- Numbers (`print_float`: `Serial.print(value, 5)`): Arduino's Print::printFloat, in double
  precision as on the ARM and ESP32 boards TFLM runs on: "nan", "inf" (negative infinity too),
  "ovf" beyond +-4294967040, a "-" for values below zero (never for -0.0), then 0.000005 is added
  and the digits are cut, so a half rounds up: 0.015625 prints "0.01563".
  The CMake program prints with printf("%.5f") instead, which differs for -0.0 ("-0.00000"),
  -inf, values beyond the "ovf" limit and exact halves (0.01562): these lines follow the Arduino one.
- Inputs (`set_input` / `quantized`) and outputs (`output_value`): float32 arithmetic, halves
  rounded away from zero, as the sketch's C code computes them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

LINE_END = "\n"  # run_inference() ends each line with print_char('\n')
SEPARATORS = frozenset(" \t,:\r\n")  # the characters print_label prints as '_'
DIGITS = 5  # print_float: Serial.print(value, 5)
OVERFLOW_LIMIT = 4294967040.0  # Print::printFloat prints "ovf" beyond this ("determined empirically" there)
SKETCH_INPUT_TYPES = {"FLOAT32": np.float32, "INT8": np.int8, "UINT8": np.uint8, "INT16": np.int16}
SKETCH_OUTPUT_TYPES = SKETCH_INPUT_TYPES
INTEGER_LIMITS = {"INT8": (-128, 127), "UINT8": (0, 255), "INT16": (-32768, 32767)}  # quantized(value, low, high)


def printed_label(label: str) -> str:
    """A label as the exported sketch's `print_label` prints it: separators (space, tab, comma,
    colon, line ends) as `_`. The one rule for every label the app prints or expects printed."""
    return "".join("_" if c in SEPARATORS else c for c in label)


def sketch_label(labels: Sequence[str], index: int) -> str:
    """The name `print_label(index)` prints for output `index`."""
    label = labels[index] if 0 <= index < len(labels) else ""
    label = label.split("\0", 1)[0]  # the C string ends at its first NUL byte
    return printed_label(label) if label else f"class{index}"


def sketch_float(value: float, digits: int = DIGITS) -> str:
    """`value` as Arduino's `Serial.print(value, digits)` prints it (Print::printFloat)."""
    number = float(value)
    if math.isnan(number):
        return "nan"
    if math.isinf(number):
        return "inf"
    if number > OVERFLOW_LIMIT or number < -OVERFLOW_LIMIT:
        return "ovf"
    sign = ""
    if number < 0.0:
        sign = "-"
        number = -number
    rounding = 0.5
    for _ in range(digits):
        rounding /= 10.0
    number += rounding
    int_part = int(number)  # (unsigned long)number: truncation
    remainder = number - float(int_part)
    text = [sign, str(int_part)]
    if digits > 0:
        text.append(".")
    for _ in range(digits):
        remainder *= 10.0
        digit = int(remainder)  # (unsigned int)remainder
        text.append(str(digit))
        remainder -= digit
    return "".join(text)


def sketch_line(values: Sequence[float] | np.ndarray, labels: Sequence[str] = ()) -> str:
    """One inference as `run_inference()` prints it, without the line ending (`LINE_END`)."""
    flat = np.asarray(values, dtype=np.float32).reshape(-1)  # output_value() returns a float
    return " ".join(f"{sketch_label(labels, i)}:{sketch_float(float(v))}" for i, v in enumerate(flat))


def sketch_quantize(values: np.ndarray, dtype: str, scale: float, zero_point: int) -> np.ndarray:
    """Input values (model float units) stored as `set_input()` stores them in a `dtype` tensor.

    float32 inputs are stored as they are; integer inputs go through `quantized()`:
    value / scale + zero_point in float32, halves rounded away from zero, kept in the type's range.
    """
    kind = np.dtype(SKETCH_INPUT_TYPES[dtype])
    as_float = np.asarray(values, dtype=np.float32)
    if kind == np.float32:
        return as_float
    scale32 = np.float32(scale)
    divided = as_float / scale32 if scale32 > 0 else as_float
    scaled = divided + np.float32(zero_point)
    half = np.where(scaled >= 0, np.float32(0.5), np.float32(-0.5)).astype(np.float32)
    rounded = np.trunc(scaled + half).astype(np.int64)
    low, high = INTEGER_LIMITS[dtype]
    return np.clip(rounded, low, high).astype(kind)


def sketch_dequantize(values: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Output values as `output_value()` returns them: float32, (q - zero_point) * scale for integer
    outputs (the subtraction in integers, the product in float32)."""
    array = np.asarray(values)
    if array.dtype.kind in "iu":
        return (array.astype(np.int64) - int(zero_point)).astype(np.float32) * np.float32(scale)
    return array.astype(np.float32)
