"""What every export format takes and gives, and the one `export()` that runs a format.

A format is a module under workbench.export with a function
`write(model: DeployModel, options: ExportOptions, folder: Path, task: Task) -> list[str]`
that writes its files into `folder` (a fresh, empty staging folder) and returns notes for the
person (one sentence each, may be empty). `export()` checks the request first, stages the files
and moves them into place only when the whole format was written: a failure leaves nothing.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from workbench.core.analysis import Analysis
from workbench.core.boards import Board
from workbench.core.errors import WorkbenchError
from workbench.tasks import Task

# format id -> (module under workbench.export, what it is in words)
FORMATS: dict[str, tuple[str, str]] = {
    "c": ("c_source", "C source and header"),
    "arduino": ("arduino", "Arduino library (.zip)"),
    "platformio": ("platformio", "PlatformIO project"),
    "cmake": ("cmake", "CMake project"),
    "report": ("report", "HTML report"),
}
LANGUAGES = ("c++", "c")
DEFAULT_SYMBOL = "g_model"
_C_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_C_KEYWORDS = frozenset(
    "auto break case char const continue default do double else enum extern float for goto if inline int long "
    "register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while "
    "bool true false class namespace new delete template this typename using virtual operator private public "
    "protected friend explicit mutable alignas alignof constexpr decltype noexcept nullptr static_assert".split()
)


@dataclass(frozen=True)
class DeployModel:
    """What is deployed: the .tflite bytes and what the workbench knows of them.

    `analysis` is the analysis of exactly these bytes (with `analysis.tflm` when TFLM measured
    them). `name` is a file- and C-friendly stem ("digits_int8"). `origin` says in words which
    model this is ("digits.keras as analyzed", "digits.keras, int8 variant"); `optimization` the
    chosen optimization in words ("" for the model as analyzed) and `accuracy` its measured
    accuracy in words ("" when not measured). `reference` is the analysis of the model it was
    optimized from, when it is a variant (for before/after figures in the report).
    """

    name: str
    tflite: bytes
    analysis: Analysis
    labels: tuple[str, ...] = ()
    origin: str = ""
    optimization: str = ""
    accuracy: str = ""
    reference: Analysis | None = None


@dataclass(frozen=True)
class ExportOptions:
    """Where and how: `out_dir` is the folder the files end up in (created when missing)."""

    format: str
    out_dir: Path
    board: Board | None = None
    symbol: str = DEFAULT_SYMBOL
    language: str = "c++"  # "c" writes model_data.c instead of model_data.cc


@dataclass
class ExportResult:
    format: str
    out_dir: Path
    files: list[Path] = field(default_factory=list)  # final paths, in the order written
    notes: list[str] = field(default_factory=list)


Writer = Callable[[DeployModel, ExportOptions, Path, Task], list[str]]


def check_symbol(symbol: str) -> str:
    """`symbol` if it can name a C array in C and C++; else a WorkbenchError saying why."""
    if not _C_IDENTIFIER.match(symbol) or symbol in _C_KEYWORDS:
        raise WorkbenchError(
            f"'{symbol}' cannot name a C array",
            "Use letters, digits and underscores, not starting with a digit, and not a C/C++ keyword.",
        )
    return symbol


def writer(format_id: str) -> Writer:
    """The write() function of a format; WorkbenchError for an unknown format."""
    if format_id not in FORMATS:
        raise WorkbenchError(f"unknown export format '{format_id}'", f"Choose one of: {', '.join(FORMATS)}.")
    module = importlib.import_module(f"workbench.export.{FORMATS[format_id][0]}")
    write: Writer = module.write
    return write
