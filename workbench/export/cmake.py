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
from workbench.export.tflm_build import (
    TFLM_COMMIT,
    TFLM_COMMON_FLAGS,
    TFLM_CXX_FLAGS,
    TFLM_DEFINITIONS,
    TFLM_HOST_DEFINITIONS,
    TREE_FOLDER,
    check_checkout,
    create_tree,
    kernel_library,
)
from workbench.tasks import Task

SOURCE_SUFFIXES = (".c", ".cc", ".cpp")


def check(options: ExportOptions) -> None:
    """A TFLM checkout, when given, is one (checked before the model is read)."""
    if options.tflm_checkout is not None:
        check_checkout(options.tflm_checkout)


def write(model: DeployModel, options: ExportOptions, folder: Path, task: Task) -> list[str]:
    """Write a CMake project into `folder`; return notes for the person."""
    program = identifier(model.name) + "_inference"
    task.progress(0.1, "Writing the model files")
    written = write_model_files(model, options, folder)
    task.check()
    (folder / "main.cpp").write_text(program_source(model, options, program, kind="cmake"), encoding="utf-8")
    sources = ["main.cpp", *sorted(p.name for p in written if p.suffix in SOURCE_SUFFIXES)]
    (folder / "CMakeLists.txt").write_text(cmake_lists_text(program, model.name, sources), encoding="utf-8")
    if options.tflm_checkout is None:
        task.progress(1.0, "CMake project written")
        notes = [
            "Build it with cmake -S . -B build -DTFLM_DIR=<TensorFlow Lite Micro tree> && cmake --build build; "
            "the top of CMakeLists.txt says how to export that tree from a tflite-micro checkout.",
        ]
        return notes + program_notes(model)
    core = options.board.core if options.board is not None else ""
    task.progress(0.3, "Exporting TensorFlow Lite Micro with create_tflm_tree.py")
    create_tree(options.tflm_checkout, folder / TREE_FOLDER, core, task.span(0.3, 1.0))
    task.progress(1.0, "CMake project and TFLM tree written")
    kernels = kernel_library(core)
    notes = [
        f"TFLM ({kernels} kernels) is in {TREE_FOLDER}/: build it with cmake -S . -B build && cmake --build build"
        + (" and your toolchain file (-DCMAKE_TOOLCHAIN_FILE=...)." if kernels == "cmsis_nn" else "."),
    ]
    return notes + program_notes(model)


def cmake_lists_text(program: str, model_name: str, sources: list[str]) -> str:
    """CMakeLists.txt for `program` built from `sources`, TFLM compiled with its own flags."""
    return render(
        template("CMakeLists.txt.in"),
        {
            "PROGRAM": program,
            "MODEL": comment_text(model_name),
            "SOURCES": " ".join(sources),
            "TFLM_COMMIT": TFLM_COMMIT,
            "TFLM_CXX_FLAGS": ";".join(TFLM_CXX_FLAGS),
            "TFLM_COMMON_FLAGS": " ".join(TFLM_COMMON_FLAGS),
            "TFLM_DEFINITIONS": " ".join(TFLM_DEFINITIONS),
            "TFLM_HOST_DEFINITIONS": " ".join(TFLM_HOST_DEFINITIONS),
        },
    )
