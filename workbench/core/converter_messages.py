"""The TFLite converter's failures in plain words: one line (what failed, the likely cause), a hint
(what to try) and the converter's own log as details.

Plain Python; the workers pass in the exception and whatever the converter printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workbench.core.errors import WorkbenchError

DETAILS_LIMIT_CHARS = 40_000


@dataclass(frozen=True)
class _Cause:
    pattern: re.Pattern[str]
    cause: str  # after "failed: "; {ops} is filled with the operators the log names
    hint: str


_CAUSES = (
    _Cause(
        re.compile(r"READ_VARIABLE|VAR_HANDLE|ASSIGN_VARIABLE|variable != nullptr|resource variable", re.I),
        "the converted graph still keeps its weights in resource variables, which TFLite's "
        "interpreter (and TFLM) cannot read",
        "The graph was traced with live variables instead of constants. Save the model again with "
        "model.save as .keras, or export a .tflite with TensorFlow's converter where it was trained.",
    ),
    _Cause(
        re.compile(
            r"neither a custom op nor a flex op|ops are not supported by the native TFLite runtime|"
            r"Some ops in the model are custom ops|failed to legalize operation",
            re.I,
        ),
        "TFLite's builtin operators cannot express {ops}",
        "Replace the layers that use them with common ones (dense, conv, pooling, activations); "
        "a microcontroller runtime has no kernels for TensorFlow operations outside TFLite's builtin set.",
    ),
    _Cause(
        re.compile(
            r"Quantization not yet supported for op|Quantization to 16x8-bit not yet supported|"
            r"not supported for (?:int8|16x8)|Unsupported (?:operator|op) .*quantiz",
            re.I,
        ),
        "{ops} cannot be quantized in this mode",
        "Try another quantization (int8, int16x8 or float16), or replace that layer.",
    ),
    _Cause(
        re.compile(
            r"Cannot set tensor|Dimension mismatch|Got value of type .* but expected type|"
            r"representative_dataset|representative dataset",
            re.I,
        ),
        "the calibration samples do not fit the model's input",
        "Give calibration data shaped like one model input (without the batch dimension), as float numbers.",
    ),
    _Cause(
        re.compile(r"calibrat|failed to invoke|Invoke\(\) failed|Node number \d+ \(\w+\) failed", re.I),
        "running the model on the calibration samples failed",
        "Check that the calibration data holds finite numbers in the model's input range; the "
        "converter's log in the details names the operator that failed.",
    ),
    _Cause(
        re.compile(
            r"incompatible shapes|Shapes? .* (?:must|are) (?:be )?(?:equal|compatible)|"
            r"shape mismatch|rank mismatch|dimension \w+ must be",
            re.I,
        ),
        "tensor shapes in the model do not fit together once the batch size is fixed to 1",
        "Give the model fixed input shapes (besides the batch) and check reshapes that assume a batch size.",
    ),
    _Cause(
        re.compile(r"MemoryError|out of memory|std::bad_alloc", re.I),
        "the converter ran out of memory",
        "Close other programs, or convert a smaller model.",
    ),
)
_OP_NAMES = (
    re.compile(r"'tf\.(\w+)' op is neither"),
    re.compile(r"(?:Flex|Custom) ops: ([\w, ]+)"),
    re.compile(r"failed to legalize operation '(?:tf|tfl)\.(\w+)'"),
    re.compile(r"Quantization (?:not yet supported|to 16x8-bit not yet supported) for op: '?(\w+)'?"),
    re.compile(r"Node number \d+ \((\w+)\)"),
)


def converter_error(what: str, error: BaseException, log: str = "") -> WorkbenchError:
    """A converter (or calibration) exception as a WorkbenchError.

    `what` names the file and the step ("model.h5: the int8 conversion"); the message reads
    "<what> failed: <likely cause>", the details hold the exception's text and `log`.
    """
    text = f"{type(error).__name__}: {error}".strip()
    details = f"{text}\n\n--- converter log ---\n{log.strip()}" if log.strip() else text
    details = details[-DETAILS_LIMIT_CHARS:]
    searched = f"{text}\n{log}"
    for cause in _CAUSES:
        if cause.pattern.search(searched):
            ops = _operators(searched)
            return WorkbenchError(f"{what} failed: {cause.cause.format(ops=ops)}", cause.hint, details)
    return WorkbenchError(
        f"{what} failed: the TFLite converter stopped with an error",
        "The converter's own log is in the details; it names the layer or operation it could not handle.",
        details,
    )


def _operators(text: str) -> str:
    """'tf.Erfinv and tf.Cumprod' from the log, or 'some of its operations'."""
    names: list[str] = []
    for pattern in _OP_NAMES:
        for match in pattern.finditer(text):
            for name in re.split(r"[,\s]+", match.group(1)):
                if name and name not in names:
                    names.append(name)
    if not names:
        return "some of its operations"
    shown = [n if n.isupper() else f"tf.{n}" for n in names[:4]]
    more = f" and {len(names) - 4} more" if len(names) > 4 else ""
    return (", ".join(shown[:-1]) + " and " + shown[-1] if len(shown) > 1 else shown[0]) + more
