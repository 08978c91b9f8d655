"""TFLM is built the way its own Makefile builds it: the flags the CMake project sets are read back
from TFLM's real Makefile (../shared/third_party/tflite-micro), reach the compiler for TFLM's
sources and for the program, and `export --with-tflm` runs TFLM's own create_tflm_tree.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.export.conftest import ROOT
from workbench.core.errors import WorkbenchError
from workbench.export import cmake
from workbench.export.api import DeployModel, ExportOptions, check_options
from workbench.export.tflm_build import (
    CREATE_TREE_SCRIPT,
    TFLM_COMMIT,
    TFLM_COMMON_FLAGS,
    TFLM_CXX_FLAGS,
    TFLM_DEFINITIONS,
    TFLM_HOST_DEFINITIONS,
    create_tree,
    kernel_library,
    makefile_options,
)
from workbench.tasks import Task

TFLM = ROOT.parent / "shared" / "third_party" / "tflite-micro"
MAKEFILE = TFLM / "tensorflow/lite/micro/tools/make/Makefile"
DOWNLOADS = TFLM / "tensorflow/lite/micro/tools/make/downloads"
STANDIN = Path(__file__).resolve().parent / "standin_tflm"
CMAKE = shutil.which("cmake")
needs_tflm = pytest.mark.skipif(not MAKEFILE.is_file(), reason=f"TFLM's sources are not at {TFLM}")


def makefile_variable(text: str, name: str) -> list[str]:
    """The words of `NAME := \\ ...` in a Makefile (its first definition), variables left out."""
    match = re.search(rf"^{name} :=((?:.*\\\n)*.*)$", text, re.MULTILINE)
    assert match, name
    words = match.group(1).replace("\\\n", " ").split()
    return [word for word in words if not word.startswith("$(")]


@needs_tflm
def test_the_flags_are_those_of_tflms_own_makefile() -> None:
    text = MAKEFILE.read_text()
    common = makefile_variable(text, "COMMON_FLAGS")
    cxx = makefile_variable(text, "CXXFLAGS")
    assert [flag for flag in common if not flag.startswith("-D")] == list(TFLM_COMMON_FLAGS)
    assert [flag[2:] for flag in common if flag.startswith("-D")] == list(TFLM_DEFINITIONS)
    assert [flag for flag in cxx if not flag.startswith("-W")] == list(TFLM_CXX_FLAGS)
    host = re.search(r"ifeq \(\$\(TARGET\), \$\(HOST_OS\)\)(.*?)endif", text, re.DOTALL)
    assert host
    code = " ".join(line for line in host.group(1).splitlines() if not line.strip().startswith("#"))
    assert [word[2:] for word in code.split() if word.startswith("-D")] == list(TFLM_HOST_DEFINITIONS)


@needs_tflm
def test_every_core_maps_to_an_arch_tflms_cortex_m_makefile_knows() -> None:
    generic = (TFLM / "tensorflow/lite/micro/tools/make/targets/cortex_m_generic_makefile.inc").read_text()
    known = set(re.findall(r"TARGET_ARCH\), ([\w+-]+)\)", generic))
    for core in ("Cortex-M0+", "Cortex-M4", "Cortex-M7", "Cortex-M33"):
        options = dict(option.split("=") for option in makefile_options(core))
        assert options["TARGET"] == "cortex_m_generic" and options["TARGET_ARCH"] in known, core
        assert (TFLM / "tensorflow/lite/micro/kernels" / options["OPTIMIZED_KERNEL_DIR"]).is_dir()
        assert kernel_library(core) == "cmsis_nn"
    assert makefile_options("Xtensa LX7") == [] and kernel_library("") == "reference"


@pytest.mark.skipif(CMAKE is None, reason="cmake is not installed")
def test_tflms_flags_reach_the_compiler_for_its_sources_and_for_the_program(
    deploy_model_factory: Callable[..., DeployModel], tmp_path: Path
) -> None:
    """Configured with a source tree, every compile command (TFLM's and main.cpp's) carries
    TFLM's flags and definitions: the program sees TFLM's headers as the library was built."""
    tree = tmp_path / "tree"
    shutil.copytree(STANDIN, tree)
    (tree / "tensorflow/lite/micro/some_kernel.cc").write_text("int some_kernel() { return 0; }\n")
    out = tmp_path / "out"
    out.mkdir()
    options = ExportOptions("cmake", out)
    cmake.write(deploy_model_factory("hello_world_int8"), options, out, Task())
    assert TFLM_COMMIT in (out / "CMakeLists.txt").read_text()
    build = tmp_path / "build"
    assert CMAKE is not None
    configured = subprocess.run(
        [CMAKE, "-S", str(out), "-B", str(build), f"-DTFLM_DIR={tree}", "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert configured.returncode == 0, configured.stderr
    commands = {
        Path(entry["file"]).name: entry["command"]
        for entry in json.loads((build / "compile_commands.json").read_text())
    }
    assert {"some_kernel.cc", "main.cpp"} <= set(commands)
    for name in ("some_kernel.cc", "main.cpp"):
        words = commands[name].split()
        for flag in (*TFLM_CXX_FLAGS, *TFLM_COMMON_FLAGS):
            assert flag in words, (name, flag)
        for definition in (*TFLM_DEFINITIONS, *TFLM_HOST_DEFINITIONS):
            assert f"-D{definition}" in words, (name, definition)


def test_with_tflm_is_refused_for_a_folder_that_is_not_a_checkout_and_for_other_formats(tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="is not a tflite-micro checkout"):
        check_options(ExportOptions("cmake", tmp_path / "out", tflm_checkout=tmp_path))
    with pytest.raises(WorkbenchError, match="cmake format only"):
        check_options(ExportOptions("c", tmp_path / "out", tflm_checkout=tmp_path))


@needs_tflm
@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_create_tflm_tree_that_cannot_fetch_its_downloads_is_one_sentence(tmp_path: Path) -> None:
    """TFLM's real script in a checkout without its downloads/ (and no network to fetch them):
    one sentence saying so, the script's own last lines as details."""
    checkout = tmp_path / "tflite-micro"
    shutil.copytree(TFLM, checkout, ignore=shutil.ignore_patterns("downloads"))
    for path in checkout.rglob("*"):  # the shared copy is read-only; TFLM's Makefile writes here
        path.chmod(path.stat().st_mode | 0o200)
    checkout.chmod(0o755)
    assert (checkout / CREATE_TREE_SCRIPT).is_file()
    with pytest.raises(WorkbenchError) as raised:
        create_tree(checkout, tmp_path / "tree", "Cortex-M4", Task())
    assert "create_tflm_tree.py failed" in raised.value.message
    assert "downloads" in raised.value.hint
    assert raised.value.details


@needs_tflm
@pytest.mark.skipif(not DOWNLOADS.is_dir(), reason=f"TFLM's third-party downloads are not in {DOWNLOADS}")
def test_a_project_exported_with_the_tflm_tree_builds_with_no_other_step(
    deploy_model_factory: Callable[..., DeployModel], tmp_path: Path
) -> None:
    checkout = tmp_path / "tflite-micro"
    shutil.copytree(TFLM, checkout)
    out = tmp_path / "out"
    out.mkdir()
    options = ExportOptions("cmake", out, tflm_checkout=checkout)
    cmake.write(deploy_model_factory("hello_world_int8"), options, out, Task())
    assert CMAKE is not None
    build = tmp_path / "build"
    for argv in ([CMAKE, "-S", str(out), "-B", str(build)], [CMAKE, "--build", str(build), "-j2"]):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
        assert done.returncode == 0, done.stderr[-3000:]
    ran = subprocess.run([str(build / "hello_world_int8_inference")], input="0.5\n", capture_output=True, text=True)
    assert ran.returncode == 0 and ran.stdout.startswith("class0:")
