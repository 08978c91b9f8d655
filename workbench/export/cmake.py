"""Plain CMake project: CMakeLists.txt (TFLM's location is the cache variable TFLM_DIR), main.cpp
reading inputs from standard input, and the model files."""

from __future__ import annotations

from pathlib import Path

from workbench.export.api import DeployModel, ExportOptions
from workbench.export.arduino import (
    comment_text,
    identifier,
    program_notes,
    program_source,
    render,
    template,
    write_model_files,
)
from workbench.tasks import Task

SOURCE_SUFFIXES = (".c", ".cc", ".cpp")


def write(model: DeployModel, options: ExportOptions, folder: Path, task: Task) -> list[str]:
    """Write a CMake project into `folder`; return notes for the person."""
    program = identifier(model.name) + "_inference"
    task.progress(0.1, "Writing the model files")
    written = write_model_files(model, options, folder)
    task.check()
    (folder / "main.cpp").write_text(program_source(model, options, program, kind="cmake"), encoding="utf-8")
    sources = ["main.cpp", *sorted(p.name for p in written if p.suffix in SOURCE_SUFFIXES)]
    cmake_lists = render(
        template("CMakeLists.txt.in"),
        {"PROGRAM": program, "MODEL": comment_text(model.name), "SOURCES": " ".join(sources)},
    )
    (folder / "CMakeLists.txt").write_text(cmake_lists, encoding="utf-8")
    task.progress(1.0, "CMake project written")
    notes = [
        "Build it with cmake -S . -B build -DTFLM_DIR=<TensorFlow Lite Micro tree> && cmake --build build; "
        "the top of CMakeLists.txt says how to export that tree from a tflite-micro checkout.",
    ]
    return notes + program_notes(model)
