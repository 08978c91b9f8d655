"""Arduino library (.zip): the model files, a library.properties that names the TFLM library the
board's core uses, and an example sketch that runs the model on inputs read from serial and prints
its predictions as `label:value` lines for a plotter.

The program text (sketch, PlatformIO and CMake main.cpp) is made here from the templates in
project_templates/; PlatformIO and CMake reuse `program_source()`.
"""

from __future__ import annotations

import importlib.resources
import re
import shutil
import tempfile
import textwrap
import zipfile
from pathlib import Path

from workbench.core.analysis import TensorInfo
from workbench.core.boards import Board
from workbench.export.api import DeployModel, ExportOptions
from workbench.export.tflm_libraries import TflmLibrary, arduino_architecture, library_for
from workbench.tasks import Task
from workbench.units import shape

TEMPLATES = "project_templates"
HANDLED_TYPES = ("FLOAT32", "INT8", "UINT8", "INT16")
LARGE_INPUT_VALUES = 256  # above this, typing an input over serial is not practical
_PLACEHOLDER = re.compile(r"@[A-Z_]+@")
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)  # fixed, so that the same model gives the same .zip


def template(name: str) -> str:
    """The text of a template shipped in workbench/export/project_templates/."""
    return importlib.resources.files("workbench.export").joinpath(TEMPLATES, name).read_text(encoding="utf-8")


def render(text: str, values: dict[str, str]) -> str:
    """`text` with every @KEY@ replaced by values[KEY]; a placeholder left over is a bug."""
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    left = _PLACEHOLDER.search(text)
    if left:
        raise ValueError(f"template placeholder {left.group(0)} has no value")
    return text


def comment_text(text: str) -> str:
    """`text` safe inside a // comment: one line, no backslash (it would continue the comment
    onto the next line), no trigraph."""
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", text).replace("\\", "/").replace("??", "? ?")
    return text.strip() or "-"


def identifier(text: str, fallback: str = "model") -> str:
    """A name that is a C identifier, an Arduino library/sketch name and a file stem at once."""
    name = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_") or fallback
    if not name[0].isalpha():
        name = f"{fallback}_{name}"
    return name[:50]


def tensor_text(info: TensorInfo | None) -> str:
    """'96x96x1 = 9216 values, int8 (scale 0.00392157, zero point -128)'."""
    if info is None:
        return "-"
    count = 1
    for dim in info.shape:
        count *= max(dim, 1)
    text = f"{shape(info.shape)} = {count} value{'s' if count != 1 else ''}, {info.dtype.lower()}"
    if info.scale:
        text += f" (scale {info.scale:.6g}, zero point {info.zero_point or 0})"
    return text


def input_range(info: TensorInfo | None) -> tuple[float, float]:
    """The float values a quantized input can hold; 0..1 for a float input (no range is known)."""
    limits = {"INT8": (-128, 127), "UINT8": (0, 255), "INT16": (-32768, 32767)}
    if info is None or not info.scale or info.dtype not in limits:
        return 0.0, 1.0
    low, high = limits[info.dtype]
    zero = info.zero_point or 0
    return (low - zero) * info.scale, (high - zero) * info.scale


def c_float(value: float) -> str:
    """A C float literal with a float's precision: '6.27450991f', '0.0f'."""
    text = f"{float(value):.9g}"
    return text + ("" if any(c in text for c in ".enN") else ".0") + "f"


def comment_lines(text: str, width: int = 96) -> str:
    """`text` as // comment lines (the first without its //), indented by two spaces."""
    return "\n//   ".join(textwrap.wrap(comment_text(text), width)) or "-"


def slot_address(board: Board | None) -> int | None:
    """The board's model slot address, when it has one (the model can then be flashed alone)."""
    return None if board is None else board.model_slot_address


def partition_slot(board: Board | None) -> bool:
    """Whether the board's model slot is a flash partition (ESP32 family): the program then finds it
    through the partition table at run time, and model_offset is only where the flasher writes."""
    return board is not None and board.model_slot_in_partition


def slot_include(board: Board | None, kind: str) -> str:
    """The program's lines that bring in the model slot reader: model_slot.h (whose MODEL_SLOT_ADDRESS
    the program reads), or on ESP32 also the code that finds the slot's partition; "" when the board
    has no slot, and in the CMake program, which runs on a computer."""
    address = slot_address(board)
    if address is None or board is None or kind == "cmake":
        return ""  # the CMake program runs on a computer: the board's slot address means nothing there
    if not partition_slot(board):
        return '#include "model_slot.h"  // defines MODEL_SLOT_ADDRESS, the board\'s slot\n'
    values = {"BOARD_ID": comment_text(board.id), "BOARD": comment_text(board.name), "OFFSET": f"0x{address:x}"}
    return render(template("esp32_slot.inc"), values)


def slot_notes(board: Board | None) -> list[str]:
    """What the person should know about the board's model slot, if it has one."""
    address = slot_address(board)
    if address is None or board is None:
        return []
    note = (
        f"Model slot: `tinyml-workbench flash MODEL.tflite --board {board.id} --model-only` writes a new model at "
        f"0x{address:x} and the program runs it without being rebuilt."
    )
    if partition_slot(board):
        note += (
            " On this board the slot is the spiffs partition of the default partition scheme: keep that scheme, "
            "and do not mount SPIFFS or LittleFS in the program."
        )
    return [note]


def program_source(
    model: DeployModel,
    options: ExportOptions,
    program: str,
    *,
    kind: str,
    library: TflmLibrary | None = None,
) -> str:
    """The text of the example program: kind "sketch" (.ino), "platformio" (Arduino-framework
    main.cpp) or "cmake" (main.cpp reading standard input)."""
    analysis = model.analysis
    first_input = analysis.inputs[0] if analysis.inputs else None
    first_output = analysis.outputs[0] if analysis.outputs else None
    values = {
        "PROGRAM": program,
        "MODEL": comment_text(model.name),
        "ORIGIN": comment_text(model.origin or model.name),
        "INPUT": comment_text(tensor_text(first_input)),
        "OUTPUT": comment_text(
            tensor_text(first_output) + (f", labels {', '.join(model.labels)}" if model.labels else "")
        ),
        "SLOT_INCLUDE": slot_include(options.board, kind),
    }
    core = render(template("inference_core.inc"), {"SYMBOL": options.symbol})
    if kind == "cmake":
        values["CORE"] = core
        return render(template("cmake_main.cpp.in"), values)
    library = library or library_for(options.board)
    low, high = input_range(first_input)
    header = f"#include <{library.header}>  // the TFLM library, before any TFLM header\n" if library.header else ""
    values.update(
        {
            "CORE": core,
            "BAUD": str(options.board.baud if options.board else 115200),
            "LIBRARY": comment_lines(f"{library.name}, the library of {library.family}"),
            "INSTALL": comment_lines(library.install),
            "LIBRARY_INCLUDE": header,
            "PRELUDE": "\n#include <Arduino.h>\n" if kind == "platformio" else "",
            "SWEEP_LOW": c_float(low),
            "SWEEP_HIGH": c_float(high),
        }
    )
    return render(template("arduino_main.in"), values)


def program_notes(model: DeployModel) -> list[str]:
    """What the person should know about the example program for this model."""
    notes = []
    for what, infos in (("input", model.analysis.inputs), ("output", model.analysis.outputs)):
        if infos and infos[0].dtype not in HANDLED_TYPES:
            notes.append(
                f"The example program handles float32, int8, uint8 and int16 tensors; this model's {what} is "
                f"{infos[0].dtype.lower()}: adapt {'set_input()' if what == 'input' else 'output_value()'} before building."
            )
    if len(model.analysis.inputs) > 1 or len(model.analysis.outputs) > 1:
        notes.append("The example program fills the first input and prints the first output only.")
    first = model.analysis.inputs[0] if model.analysis.inputs else None
    if first is not None:
        count = 1
        for dim in first.shape:
            count *= max(dim, 1)
        if count > LARGE_INPUT_VALUES:
            notes.append(
                f"The model takes {count:,} input values: sending them as text over serial is slow; set "
                "INPUT_FROM_SERIAL to 0 and fill read_sensor() from your sensor."
            )
    return notes


def library_properties(model: DeployModel, options: ExportOptions, name: str, library: TflmLibrary) -> str:
    """library.properties of the exported library (one line per key, no line breaks in values)."""
    board = options.board
    analysis = model.analysis
    arena = f"{analysis.arena_bytes:,}-byte tensor arena (measured by TFLM)" if analysis.arena_bytes else ""
    facts = [f"{analysis.size_bytes:,} bytes of model", f"{analysis.totals.macs:,} MACs per inference"]
    facts += [arena] if arena else []
    for_board = f" for {board.name}" if board else ""
    lines = {
        "name": name,
        "version": "1.0.0",
        "author": "TinyML Workbench",
        "maintainer": "TinyML Workbench export <noreply@localhost>",
        "sentence": f"The model {model.name}{for_board}, ready for TensorFlow Lite Micro.",
        "paragraph": (
            f"{model.origin or model.name}: {', '.join(facts)}. The example sketch reads inputs from serial "
            f"and prints label:value lines for a plotter. It builds against {library.name}."
        ),
        "category": "Data Processing",
        "url": "https://github.com/tensorflow/tflite-micro",
        "architectures": arduino_architecture(board) or "*",
    }
    if library.in_library_manager:
        lines["depends"] = library.name
    lines["includes"] = "model_data.h"
    return "".join(f"{key}={_one_line(value)}\n" for key, value in lines.items())


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def write_model_files(model: DeployModel, options: ExportOptions, folder: Path) -> list[Path]:
    """The model files (workbench.export.c_source) of a project for options.board: with the model
    slot reader when the board has a model slot; model_slot.h defines MODEL_SLOT_ADDRESS only where
    the slot is at a fixed address (not on ESP32, where the program finds its partition)."""
    from workbench.export import c_source

    board = options.board
    address = slot_address(board)
    written = c_source.write_model_files(
        model,
        folder,
        symbol=options.symbol,
        language=options.language,
        with_ops=True,
        with_slot=address is not None,
        slot_address=None if partition_slot(board) else address,
        board_name=board.name if board else "",
    )
    if not (folder / "model_ops.h").exists():
        # C model files come without model_ops.h (C++ only), which the C++ program needs all the same.
        with tempfile.TemporaryDirectory(prefix="model-ops-") as temporary:
            c_source.write_model_files(model, Path(temporary), symbol=options.symbol, with_slot=False)
            written.append(Path(shutil.copy2(Path(temporary) / "model_ops.h", folder / "model_ops.h")))
    return written


def write_library_files(model: DeployModel, options: ExportOptions, src: Path) -> list[Path]:
    """The model files in a library's src/, .cc renamed .cpp (the Arduino IDE 1.x builds no .cc)."""
    files = []
    for path in write_model_files(model, options, src):
        if path.suffix == ".cc":
            path = path.rename(path.with_suffix(".cpp"))
        files.append(path)
    return files


def write(model: DeployModel, options: ExportOptions, folder: Path, task: Task) -> list[str]:
    """Write <name>_model.zip, an Arduino library, into `folder`; return notes for the person."""
    library = library_for(options.board)
    name = identifier(model.name) + "_model"
    sketch = identifier(model.name) + "_inference"
    task.progress(0.1, "Writing the model files")
    with tempfile.TemporaryDirectory(prefix="arduino-library-") as temporary:
        top = Path(temporary) / name
        write_library_files(model, options, top / "src")
        task.check()
        (top / "library.properties").write_text(library_properties(model, options, name, library), encoding="utf-8")
        example = top / "examples" / sketch
        example.mkdir(parents=True)
        (example / f"{sketch}.ino").write_text(
            program_source(model, options, sketch, kind="sketch", library=library), encoding="utf-8"
        )
        task.progress(0.7, "Packing the library")
        _zip_folder(top, folder / f"{name}.zip")
    task.progress(1.0, "Arduino library written")
    notes = [
        f"Install {name}.zip with Sketch > Include Library > Add .ZIP Library..., then open File > Examples > "
        f"{name} > {sketch}.",
        f"TensorFlow Lite Micro: {library.install}",
    ]
    return notes + slot_notes(options.board) + program_notes(model)


def _zip_folder(top: Path, target: Path) -> None:
    """Zip `top` with itself as the zip's one top folder, files in a stable order and time."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in [top, *sorted(top.rglob("*"))]:
            name = f"{top.name}/{path.relative_to(top).as_posix()}".removesuffix("/.")
            if path.is_dir():
                folder = zipfile.ZipInfo(name + "/", date_time=_ZIP_TIME)
                folder.external_attr = (0o40755 << 16) | 0x10
                archive.writestr(folder, b"")
                continue
            entry = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, path.read_bytes())
