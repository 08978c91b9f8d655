"""The "c" export format: the model as C source, with what firmware needs to run it.

`write_model_files` writes model_data.h and model_data.cc (.c for C): the .tflite bytes as an
aligned array, the input and output details, the class labels and kTensorArenaSize; model_ops.h
(C++ only): a MicroMutableOpResolver with exactly the model's operators; model_slot.h/.cc: the
reader of a model flashed on its own. model_data.h/.cc include nothing from TFLM, so they build
with any C or C++ compiler. The Arduino, PlatformIO and CMake projects use the same files.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from pathlib import Path

from workbench import __version__
from workbench.core.analysis import Analysis, TensorInfo
from workbench.core.arena import ESTIMATE_MARGIN, estimate_arena_bytes, estimated_arena
from workbench.core.errors import WorkbenchError
from workbench.core.tflite_file import TfliteFile, parse_tflite, tensor_bytes
from workbench.export.api import LANGUAGES, DeployModel, ExportOptions, check_symbol
from workbench.export.model_slot import slot_header_text, slot_source_text
from workbench.export.op_resolver import RESOURCE_VARIABLE_OPS, OpRegistration, resolver_registrations
from workbench.tasks import Task

log = logging.getLogger(__name__)

BYTES_PER_LINE = 12


@dataclass(frozen=True)
class ArenaSize:
    """kTensorArenaSize and how it was found: `comment` is the header's explanation, one line each."""

    bytes: int
    measured: bool
    comment: list[str]


# --- the tensor arena -------------------------------------------------------------------------


def tensor_arena_size(analysis: Analysis, graph: TfliteFile) -> ArenaSize:
    """kTensorArenaSize: TFLM's measured arena plus its margin, or an estimate when not measured."""
    report = analysis.tflm
    if report is not None and report.arena_bytes and report.recommended_arena_bytes:
        comment = [
            f"Measured: TFLM {report.tflm_version or '(version unknown)'} needed {report.arena_bytes:,} bytes of "
            "arena for this model",
            "(the smallest arena in which MicroInterpreter::AllocateTensors() succeeded and one inference ran,",
            f"on the host, by TinyML Workbench); this is that plus {report.margin_percent}%, rounded up to a whole KB.",
            "Kernels optimized for a chip (CMSIS-NN, ESP-NN) may ask for scratch space beyond it: if",
            "AllocateTensors() fails on the board, raise it.",
        ]
        if report.crashes_below_bytes:
            comment.append(
                f"Never give it less than {report.crashes_below_bytes:,} bytes: below that TFLM crashed instead of "
                "failing cleanly."
            )
        return ArenaSize(report.recommended_arena_bytes, True, comment)
    activations, bookkeeping = estimate_arena_bytes(graph)
    size = estimated_arena(activations, bookkeeping)
    why = "TFLM did not measure this model" if report is None else "TFLM could not measure this model"
    if report is not None and report.problems:
        why += f" ({report.problems[0].op}: {report.problems[0].message})"
    comment = [
        f"ESTIMATE, not measured ({why}): the most activation bytes alive at once",
        f"({activations:,} bytes, read from the graph) plus TFLM's bookkeeping estimated per tensor and",
        f"per operator ({bookkeeping:,} bytes), plus {round(ESTIMATE_MARGIN * 100)}%, rounded up to a whole KB.",
        "Measure it (analyze the model with TFLM, then export again) for the real figure.",
    ]
    return ArenaSize(size, False, comment)


# --- C text helpers ---------------------------------------------------------------------------


def c_string(text: str) -> str:
    """`text` as a C string literal that any C or C++ compiler reads back byte for byte (UTF-8)."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char in '"\\?':
            out.append("\\" + char)
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def c_float(value: float | None) -> str:
    """A float literal with enough digits to give back the same float32 (0.0f for None)."""
    if value is None or not math.isfinite(value):
        return "0.0f"
    text = f"{value:.9g}"
    if not any(c in text for c in ".e"):
        text += ".0"
    return text + "f"


def c_int(value: int) -> str:
    return f"({value})" if value < 0 else str(value)


def comment_text(text: str) -> str:
    """`text` made safe inside a /* */ comment: printable ASCII, no comment end, no trigraph."""
    safe = "".join(c if 32 <= ord(c) < 127 else "?" for c in text)
    while "*/" in safe or "??" in safe or "/*" in safe:
        safe = safe.replace("*/", "* /").replace("/*", "/ *").replace("??", "? ?")
    return safe


def _block_comment(lines: list[str], indent: str) -> list[str]:
    """`lines` as one /* */ comment, each line indented by `indent`."""
    safe = [comment_text(line) for line in lines]
    return [
        f"{indent}{'/* ' if i == 0 else '   '}{line}{' */' if i == len(safe) - 1 else ''}"
        for i, line in enumerate(safe)
    ]


def _elements(shape: list[int]) -> int:
    return math.prod(max(d, 1) for d in shape) if shape else 1


# --- the files --------------------------------------------------------------------------------


def model_data_header(model: DeployModel, symbol: str, arena: ArenaSize) -> str:
    """model_data.h: declarations and figures, standalone C and C++."""
    analysis = model.analysis
    digest = hashlib.sha256(model.tflite).hexdigest()
    about = [f"Model: {model.name} ({len(model.tflite):,} bytes, SHA-256 {digest})"]
    if model.origin:
        about.append(f"From: {model.origin}")
    if model.optimization:
        about.append(f"Optimization: {model.optimization}")
    if model.accuracy:
        about.append(f"Accuracy: {model.accuracy}")
    lines = [
        f"/* model_data.h - written by TinyML Workbench {__version__}.",
        *(f"   {comment_text(line)}" for line in about),
        "   Standalone: no TFLM header is needed, it compiles as C and as C++. */",
        "#ifndef MODEL_DATA_H_",
        "#define MODEL_DATA_H_",
        "",
        "#ifdef __cplusplus",
        'extern "C" {',
        "#endif",
        "",
        "/* The .tflite file's bytes, unchanged, aligned to 16 bytes (defined in the model_data source file beside this header). */",
        f"extern const unsigned char {symbol}[];",
        f"extern const unsigned int {symbol}_len;",
        "",
        "/* Class names, in the order of the output's scores: kModelLabelCount of them, or one empty",
        "   string when the model came without labels (kModelLabelCount is then 0). */",
        "extern const char* const kModelLabels[];",
        "",
        "enum {",
        *_block_comment(arena.comment, "  "),
        f"  kTensorArenaSize = {arena.bytes},",
        "  /* Elements (not bytes) of input 0 and of output 0. */",
        f"  kModelInputCount = {_elements(analysis.inputs[0].shape) if analysis.inputs else 0},",
        f"  kModelOutputCount = {_elements(analysis.outputs[0].shape) if analysis.outputs else 0},",
        f"  kModelLabelCount = {len(model.labels)}",
        "};",
        "",
        "/* Every input and output tensor: MODEL_INPUT<i>_... and MODEL_OUTPUT<i>_...",
        "     _DIMS_COUNT, _DIMS    the shape: its rank, and an initializer (int dims[] = MODEL_INPUT0_DIMS;)",
        "     _ELEMENTS, _BYTES     elements, and bytes in the tensor",
        "     _TYPE_<type>          defined (as 1) for its type: INT8, UINT8, INT16, INT32, FLOAT32, ...",
        "     _SCALE, _ZERO_POINT   quantization: real = scale * (q - zero_point); 0.0f and 0 when float",
        "   MODEL_INPUT_... and MODEL_OUTPUT_... without a number are input 0 and output 0. */",
        f"#define MODEL_INPUT_TENSORS {len(analysis.inputs)}",
        f"#define MODEL_OUTPUT_TENSORS {len(analysis.outputs)}",
    ]
    for kind, tensors in (("INPUT", analysis.inputs), ("OUTPUT", analysis.outputs)):
        for index, tensor in enumerate(tensors):
            lines += ["", *_tensor_macros(f"MODEL_{kind}{index}", kind.lower(), index, tensor)]
    for kind, tensors in (("INPUT", analysis.inputs), ("OUTPUT", analysis.outputs)):
        if tensors:
            first = tensors[0]
            lines += [
                "",
                f"#define MODEL_{kind}_SCALE MODEL_{kind}0_SCALE",
                f"#define MODEL_{kind}_ZERO_POINT MODEL_{kind}0_ZERO_POINT",
                f"#define MODEL_{kind}_TYPE_{_type_name(first.dtype)} 1",
            ]
    lines += [
        "",
        "#ifdef __cplusplus",
        '}  /* extern "C" */',
        "#endif",
        "",
        "#endif /* MODEL_DATA_H_ */",
        "",
    ]
    return "\n".join(lines)


def _type_name(dtype: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in dtype.upper())


def _tensor_macros(prefix: str, kind: str, index: int, tensor: TensorInfo) -> list[str]:
    quantized = tensor.scale is not None and tensor.dtype != "FLOAT32"
    scale = tensor.scale if quantized else None
    zero_point = (tensor.zero_point or 0) if quantized else 0
    shape = list(tensor.shape)
    described = f'{kind} {index} "{tensor.name}": {tensor.dtype.lower()} {shape}'
    if quantized:
        described += f", scale {c_float(scale)}, zero point {zero_point}"
    elements = _elements(shape)
    return [
        f"/* {comment_text(described)} */",
        f"#define {prefix}_DIMS_COUNT {len(shape)}",
        f"#define {prefix}_DIMS {{{', '.join(str(d) for d in shape) if shape else '0'}}}",
        f"#define {prefix}_ELEMENTS {elements}",
        f"#define {prefix}_BYTES {tensor_bytes(tensor.dtype, elements)}",
        f"#define {prefix}_TYPE_{_type_name(tensor.dtype)} 1",
        f"#define {prefix}_SCALE {c_float(scale)}",
        f"#define {prefix}_ZERO_POINT {c_int(zero_point)}",
    ]


def model_data_source(model: DeployModel, symbol: str, language: str) -> str:
    """model_data.cc (or .c): the model's bytes and its labels."""
    align = "alignas(16)" if language == "c++" else "_Alignas(16)"
    data = model.tflite
    rows = [
        "  " + ", ".join(f"0x{byte:02x}" for byte in data[start : start + BYTES_PER_LINE]) + ","
        for start in range(0, len(data), BYTES_PER_LINE)
    ]
    labels = [f"  {c_string(label)}," for label in model.labels] or ['  "",']
    return "\n".join(
        [
            f"/* model_data - the model {comment_text(model.name)}, written by TinyML Workbench {__version__}. */",
            '#include "model_data.h"',
            "",
            "/* Declared extern in model_data.h, which is included above: external linkage in C and C++. */",
            f"{align} const unsigned char {symbol}[] = {{",
            *rows,
            "};",
            f"const unsigned int {symbol}_len = {len(data)};",
            "",
            "const char* const kModelLabels[] = {",
            *labels,
            "};",
            "",
        ]
    )


def model_ops_header(model: DeployModel, registrations: list[OpRegistration]) -> str:
    """model_ops.h (C++): a MicroMutableOpResolver with exactly the model's operators."""
    listed = ", ".join(r.op for r in registrations)
    calls = [f"  if (resolver.{r.method}() != kTfLiteOk) return kTfLiteError;" for r in registrations]
    return "\n".join(
        [
            f"// model_ops.h - the operators of {comment_text(model.name)}, written by TinyML Workbench {__version__}.",
            "// C++ only. Include it after TFLM's own headers; it needs TFLM's",
            "// tensorflow/lite/micro/micro_mutable_op_resolver.h on the include path.",
            f"// The model uses {len(registrations)} distinct operators, in every subgraph: {comment_text(listed)}.",
            "#ifndef MODEL_OPS_H_",
            "#define MODEL_OPS_H_",
            "",
            '#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"',
            "",
            f"constexpr int kModelOpCount = {len(registrations)};",
            "using ModelOpResolver = tflite::MicroMutableOpResolver<kModelOpCount>;",
            "",
            "// Registers the model's operators with `resolver`; kTfLiteError when one could not be added.",
            "inline TfLiteStatus RegisterModelOps(ModelOpResolver& resolver) {",
            *calls,
            "  return kTfLiteOk;",
            "}",
            "",
            "// One resolver with the model's operators, registered on first use.",
            "inline ModelOpResolver& GetModelOpResolver() {",
            "  static ModelOpResolver resolver;",
            "  static bool registered = false;",
            "  if (!registered) {",
            "    RegisterModelOps(resolver);",
            "    registered = true;",
            "  }",
            "  return resolver;",
            "}",
            "",
            "#endif  // MODEL_OPS_H_",
            "",
        ]
    )


def write_model_files(
    model: DeployModel,
    folder: Path,
    *,
    symbol: str = "g_model",
    language: str = "c++",
    with_ops: bool = True,
    with_slot: bool = True,
    slot_address: int | None = None,
    board_name: str = "",
) -> list[Path]:
    """Write the model's C files into `folder`; returns their paths in the order written.

    model_data.h and model_data.cc (.c with language "c"); model_ops.h when `with_ops` and the
    language is C++; model_slot.h and model_slot.cc (.c) when `with_slot`. `slot_address`
    (the board's model_offset) becomes MODEL_SLOT_ADDRESS in model_slot.h. WorkbenchError for a
    bad symbol or language, and for an operator TFLM cannot register.
    """
    check_symbol(symbol)
    if language not in LANGUAGES:
        raise WorkbenchError(f"unknown language '{language}'", "Choose c or c++.")
    graph = parse_tflite(model.tflite)
    registrations = resolver_registrations(graph, model.name)
    arena = tensor_arena_size(model.analysis, graph)
    suffix = ".cc" if language == "c++" else ".c"
    texts = [
        ("model_data.h", model_data_header(model, symbol, arena)),
        (f"model_data{suffix}", model_data_source(model, symbol, language)),
    ]
    if with_ops and language == "c++":
        texts.append(("model_ops.h", model_ops_header(model, registrations)))
    if with_slot:
        texts.append(("model_slot.h", slot_header_text(slot_address=slot_address, board=board_name)))
        texts.append((f"model_slot{suffix}", slot_source_text(symbol)))
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in texts:
        path = folder / name
        path.write_text(text, encoding="ascii", newline="\n")
        written.append(path)
    log.info("wrote %s for %s into %s", ", ".join(n for n, _ in texts), model.name, folder)
    return written


def readme_text(
    model: DeployModel,
    symbol: str,
    language: str,
    arena: ArenaSize,
    registrations: list[OpRegistration],
    slot_address: int | None = None,
) -> str:
    """README.txt of the "c" export: which file is what, and how firmware uses them."""
    suffix = ".cc" if language == "c++" else ".c"
    count = len(registrations)
    ops = ", ".join(r.method + "()" for r in registrations)
    lines = [
        f"{model.name}: C source for TensorFlow Lite Micro (TFLM), written by TinyML Workbench {__version__}.",
        "",
        "Files",
        f"  model_data.h, model_data{suffix}",
        f"      {symbol} and {symbol}_len: the .tflite file's {len(model.tflite):,} bytes, unchanged, aligned to 16.",
        "      Input and output shapes, types, scale and zero point, class labels, kTensorArenaSize.",
        "      Standalone: they compile as C or C++ without any TFLM header.",
    ]
    if language == "c++":
        lines += [
            "  model_ops.h",
            f"      GetModelOpResolver(): a tflite::MicroMutableOpResolver<{count}> with the model's {count} operators",
            f"      ({ops}). C++; it includes TFLM's micro_mutable_op_resolver.h.",
        ]
    lines += [
        f"  model_slot.h, model_slot{suffix}",
        "      model_slot_find(): a model flashed later into the board's model slot, else the compiled-in one.",
        "",
        "Use, in the C++ file that runs the model",
        '  #include "tensorflow/lite/micro/micro_interpreter.h"   // TFLM\'s own headers first',
        '  #include "tensorflow/lite/micro/micro_mutable_op_resolver.h"',
        '  #include "model_data.h"',
    ]
    if language == "c++":
        lines += [
            '  #include "model_ops.h"                                 // after TFLM\'s headers',
            "",
            "  alignas(16) static uint8_t tensor_arena[kTensorArenaSize];",
            f"  const tflite::Model* model = tflite::GetModel({symbol});",
            "  tflite::MicroInterpreter interpreter(model, GetModelOpResolver(), tensor_arena, kTensorArenaSize);",
        ]
    else:
        lines += [
            "",
            "  alignas(16) static uint8_t tensor_arena[kTensorArenaSize];",
            f"  static tflite::MicroMutableOpResolver<{count}> resolver;   // TFLM is C++: no model_ops.h for C",
            *(f"  resolver.{r.method}();" for r in registrations),
            f"  const tflite::Model* model = tflite::GetModel({symbol});",
            "  tflite::MicroInterpreter interpreter(model, resolver, tensor_arena, kTensorArenaSize);",
        ]
    address = "MODEL_SLOT_ADDRESS" if slot_address is not None else "SLOT_ADDRESS"
    lines += [
        "  interpreter.AllocateTensors();",
        "",
        f"kTensorArenaSize = {arena.bytes:,} bytes",
        *(f"  {line}" for line in arena.comment),
        "",
        "Model slot: a new model without rebuilding the firmware",
        "  unsigned int length = 0;",
        f"  const unsigned char* bytes = model_slot_find((const unsigned char*){address}, &length);",
        "  const tflite::Model* model = tflite::GetModel(bytes);",
        "",
        "  model_slot_find() returns the model in the slot when the slot holds a whole one (magic, format",
        f"  version, length and CRC-32 checked), else the compiled-in {symbol}.",
        "  `tinyml-workbench flash MODEL.tflite --board BOARD --model-only` writes a model into the slot, at the",
        "  model_offset of the board's file (boards without one have no slot: reserve a region and add it)."
        + (
            f" model_slot.h defines MODEL_SLOT_ADDRESS (0x{slot_address:08X})."
            if slot_address is not None
            else " SLOT_ADDRESS stands for where your board's slot is read."
        ),
        "  Define MODEL_SLOT_SIZE to the bytes the board reserves for the slot (default 1 MB); the slot",
        "  format is described in model_slot.h.",
        "",
    ]
    return "\n".join(lines)


def write(model: DeployModel, options: ExportOptions, folder: Path, task: Task) -> list[str]:
    """The "c" format: the model's C files and a README.txt into `folder`; returns notes."""
    task.progress(0.0, "Writing C source")
    slot_address = None
    board_name = ""
    if options.board is not None and options.board.model_offset:
        board_name = options.board.name
        # A slot in a partition (ESP32) has no address the CPU reads: the firmware maps the partition.
        slot_address = None if options.board.model_slot_in_partition else options.board.model_slot_address
    write_model_files(
        model,
        folder,
        symbol=options.symbol,
        language=options.language,
        with_ops=True,
        with_slot=True,
        slot_address=slot_address,
        board_name=board_name,
    )
    task.check()
    graph = parse_tflite(model.tflite)
    registrations = resolver_registrations(graph, model.name)
    arena = tensor_arena_size(model.analysis, graph)
    (folder / "README.txt").write_text(
        readme_text(model, options.symbol, options.language, arena, registrations, slot_address),
        encoding="utf-8",
        newline="\n",
    )
    task.progress(1.0, "C source written")
    return export_notes(model, options.language, arena, registrations)


def export_notes(model: DeployModel, language: str, arena: ArenaSize, registrations: list[OpRegistration]) -> list[str]:
    """What the person should know about the written files, one sentence each."""
    notes = []
    if arena.measured:
        notes.append(f"kTensorArenaSize is {arena.bytes:,} bytes: the arena TFLM measured plus its margin.")
    else:
        notes.append(
            f"kTensorArenaSize is {arena.bytes:,} bytes, an estimate from the graph: TFLM did not measure this model."
        )
    if language == "c":
        methods = ", ".join(r.method + "()" for r in registrations)
        notes.append(
            f"model_ops.h is C++ and was not written for C: register {methods} on a "
            f"tflite::MicroMutableOpResolver<{len(registrations)}> in your C++ code."
        )
    if any(r.op in RESOURCE_VARIABLE_OPS for r in registrations):
        notes.append(
            "The model keeps state in resource variables: give the MicroInterpreter a "
            "tflite::MicroResourceVariables with room for them."
        )
    if model.analysis.tflm is not None and model.analysis.tflm.crash_note:
        notes.append(model.analysis.tflm.crash_note)
    return notes
