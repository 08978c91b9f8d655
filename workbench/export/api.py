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
    # C (C11/C23) and C++ (C++20) keywords and alternative tokens: none may name the array.
    "auto break case char const continue default do double else enum extern float for goto if inline int long "
    "register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while "
    "_Alignas _Alignof _Atomic _Bool _Complex _Generic _Imaginary _Noreturn _Static_assert _Thread_local "
    "alignas alignof bool true false nullptr constexpr static_assert thread_local typeof typeof_unqual "
    "asm catch char8_t char16_t char32_t class co_await co_return co_yield concept const_cast consteval "
    "constinit decltype delete dynamic_cast explicit export friend mutable namespace new noexcept operator "
    "private protected public reinterpret_cast requires static_cast template this throw try typeid typename "
    "using virtual wchar_t and and_eq bitand bitor compl not not_eq or or_eq xor xor_eq main".split()
)
# Names the generated files define themselves (MODEL_* macros are checked by prefix).
_GENERATED_NAMES = frozenset(
    "kTensorArenaSize kModelInputCount kModelOutputCount kModelLabelCount kModelLabels kModelOpCount "
    "ModelOpResolver RegisterModelOps GetModelOpResolver model_slot_find tflite".split()
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
    replace: bool = False  # replace files in out_dir that no earlier export wrote (a person's own)
    tflm_checkout: Path | None = None  # cmake: export a TFLM tree from this tflite-micro checkout into tflm/


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
    if symbol in _GENERATED_NAMES or symbol.startswith(("MODEL_", "__")) or re.match(r"_[A-Z]", symbol):
        raise WorkbenchError(
            f"'{symbol}' cannot name the model's array: the generated code or the compiler uses that name",
            f"Choose another, e.g. {DEFAULT_SYMBOL} or my_model.",
        )
    return symbol


def writer(format_id: str) -> Writer:
    """The write() function of a format; WorkbenchError for an unknown format."""
    if format_id not in FORMATS:
        raise WorkbenchError(f"unknown export format '{format_id}'", f"Choose one of: {', '.join(FORMATS)}.")
    module = importlib.import_module(f"workbench.export.{FORMATS[format_id][0]}")
    write: Writer = module.write
    return write


CODE_FORMATS = ("c", "arduino", "platformio", "cmake")  # what goes onto a board: refused when it cannot fit


def deploy_refusal(model: DeployModel, board: Board) -> WorkbenchError | None:
    """Why `model` cannot go onto `board`, in one sentence with the way out: TFLM cannot run it,
    or it does not fit the board's flash or RAM (saying by how much); None when nothing known
    stands in the way. Before TFLM has measured the model only its flash is known
    (`not_measured` says so). The one verdict export, flash and the Deploy page act on."""
    from workbench.core.fit import analysis_fit
    from workbench.units import kb

    fit = analysis_fit(model.analysis, board)
    if fit.runs is False:
        return WorkbenchError(
            f"TFLM cannot run {model.name}" + (f": {fit.runs_problem}" if fit.runs_problem else ""),
            "The Inspect page lists what TFLM lacks; convert the model without it (Optimize) or choose another model.",
        )
    over = []
    if not fit.flash_ok:
        over.append(f"{kb(-fit.flash_headroom_bytes)} over its {kb(fit.flash_capacity_bytes)} of flash")
    if fit.ram_ok is False and fit.ram_headroom_bytes is not None:
        over.append(f"{kb(-fit.ram_headroom_bytes)} over its {kb(fit.ram_capacity_bytes)} of RAM")
    if not over:
        return None
    return WorkbenchError(
        f"{model.name} does not fit {board.name}: {' and '.join(over)}",
        "Make it smaller on the Optimize page (int8, pruning), or choose a board with more memory.",
    )


def not_measured(model: DeployModel) -> str:
    """What is not known yet about `model` on a board ("" once TFLM has measured it): whether TFLM
    runs it and the RAM it needs."""
    if model.analysis.tflm is not None:
        return ""
    return "TFLM has not yet measured the RAM the model needs or checked that it runs"


def check_options(options: ExportOptions) -> None:
    """Everything about a request that can be refused before the model is even read: the format,
    the language, the C symbol, and what the format needs of the board (its own `check(options)`)."""
    if options.format not in FORMATS:
        writer(options.format)  # raises the one sentence naming the formats
    if options.language not in LANGUAGES:
        raise WorkbenchError(f"unknown language '{options.language}'", "Choose c or c++.")
    check_symbol(options.symbol)
    if options.tflm_checkout is not None and options.format != "cmake":
        raise WorkbenchError("a TFLM tree (--with-tflm) goes with the cmake format only", "Add --format cmake.")
    module = importlib.import_module(f"workbench.export.{FORMATS[options.format][0]}")
    check = getattr(module, "check", None)
    if check is not None:
        check(options)


def export(model: DeployModel, options: ExportOptions, task: Task) -> ExportResult:
    """Write `model` in `options.format` into `options.out_dir`, all of it or nothing.

    Checked before anything is written: `check_options`, and for the formats that go onto a
    board, `deploy_refusal` (TFLM runs it, it fits the board).
    """
    from workbench.export.staging import MANIFEST, staged_folder

    check_options(options)
    if options.board is not None and options.format in CODE_FORMATS:
        refusal = deploy_refusal(model, options.board)
        if refusal is not None:
            raise refusal
    write = writer(options.format)
    target = options.out_dir.expanduser().absolute()
    task.progress(0.0, f"Exporting {FORMATS[options.format][1]}")
    with staged_folder(target, options.replace) as stage:
        notes = write(model, options, stage, task.span(0.0, 0.95))
        written = sorted(p.relative_to(stage) for p in stage.rglob("*") if p.is_file() and p.name != MANIFEST)
    task.progress(1.0, f"Exported to {target}")
    return ExportResult(options.format, target, [target / p for p in written], notes)


def c_name(text: str) -> str:
    """A file- and C-friendly stem for a model: 'digits-int8 (2).tflite' -> 'digits_int8_2'."""
    stem = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_") or "model"
    return f"model_{stem}" if stem[0].isdigit() else stem


def deploy_model_from_file(
    path: str | Path, task: Task | None = None, *, measure: bool = True, allow_unsafe: bool = False
) -> DeployModel:
    """The model in `path` as analyzed (and measured by TFLM unless `measure` is False), ready to export.
    `allow_unsafe` lets a Keras file's Lambda layers and custom objects run (trusted files only)."""
    from workbench.core.analysis import analyze
    from workbench.core.inference import labels_for
    from workbench.core.loading import load_model

    task = task or Task()
    loaded = load_model(path, allow_unsafe=allow_unsafe, task=task.span(0.0, 0.3))
    analysis = analyze(loaded, task.span(0.3, 1.0), measure=measure)
    kind = "" if loaded.format == "tflite" else ", float conversion"
    return DeployModel(
        name=c_name(loaded.path.stem),
        tflite=loaded.tflite,
        analysis=analysis,
        labels=tuple(labels_for(loaded.path)),
        origin=f"{loaded.path.name} as analyzed{kind}",
    )
