"""How TensorFlow Lite Micro is built: its own compile flags, the Makefile target for a board's
core, and exporting a TFLM source tree with TFLM's own create_tflm_tree.py.

The flags are those of TFLM's tensorflow/lite/micro/tools/make/Makefile at TFLM_COMMIT (CXXFLAGS,
CCFLAGS and COMMON_FLAGS, without the warnings and without -std, which CMake sets); the tests read
that Makefile and check these lists against it.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from workbench.core.errors import WorkbenchError
from workbench.core.launcher import frozen
from workbench.core.process import run_process
from workbench.tasks import Task

TFLM_COMMIT = "90b983c2"  # the tflite-micro commit the flags and the resolver table were read from
TFLM_CXX_FLAGS = ("-fno-rtti", "-fno-exceptions", "-fno-threadsafe-statics")
TFLM_COMMON_FLAGS = (
    "-fno-unwind-tables",
    "-fno-asynchronous-unwind-tables",
    "-ffunction-sections",
    "-fdata-sections",
    "-fmessage-length=0",
)
TFLM_DEFINITIONS = ("TF_LITE_STATIC_MEMORY", "TF_LITE_DISABLE_X86_NEON")
TFLM_HOST_DEFINITIONS = ("TF_LITE_USE_CTIME",)  # only when not cross-compiling, as in TFLM's Makefile

# A board's core -> TFLM's Makefile options for it (TARGET_ARCH as cortex_m_generic_makefile.inc
# names it), with CMSIS-NN, TFLM's optimized kernels for Cortex-M.
_CORTEX_M_ARCH = {
    "cortex-m0": "cortex-m0",
    "cortex-m0+": "cortex-m0plus",
    "cortex-m3": "cortex-m3",
    "cortex-m4": "cortex-m4+fp",
    "cortex-m4f": "cortex-m4+fp",
    "cortex-m7": "cortex-m7+fp",
    "cortex-m33": "cortex-m33",
    "cortex-m55": "cortex-m55",
    "cortex-m85": "cortex-m85",
}
CREATE_TREE_SCRIPT = "tensorflow/lite/micro/tools/project_generation/create_tflm_tree.py"
TREE_FOLDER = "tflm"  # where an exported project keeps the tree (its CMakeLists.txt looks there)


def makefile_options(core: str) -> list[str]:
    """TFLM's Makefile options for a board's core ("Cortex-M4"): cortex_m_generic with CMSIS-NN for
    a Cortex-M, none (the host's reference kernels) for anything else or no board."""
    arch = _CORTEX_M_ARCH.get(core.strip().lower().replace(" ", ""))
    if arch is None:
        return []
    return ["TARGET=cortex_m_generic", f"TARGET_ARCH={arch}", "OPTIMIZED_KERNEL_DIR=cmsis_nn"]


def kernel_library(core: str) -> str:
    """The kernels a tree for `core` carries: "cmsis_nn" or "reference"."""
    return "cmsis_nn" if makefile_options(core) else "reference"


def check_checkout(checkout: Path) -> Path:
    """`checkout` when it is a tflite-micro checkout with create_tflm_tree.py; else WorkbenchError."""
    checkout = checkout.expanduser()
    if not (checkout / CREATE_TREE_SCRIPT).is_file():
        raise WorkbenchError(
            f"{checkout} is not a tflite-micro checkout: {CREATE_TREE_SCRIPT} is not in it",
            "Give the folder of a clone of github.com/tensorflow/tflite-micro.",
        )
    return checkout


def create_tree(checkout: Path, out_dir: Path, core: str, task: Task) -> None:
    """Run TFLM's create_tflm_tree.py in `checkout` into `out_dir` for the board's core (with this
    Python, or from a frozen bundle the system's python3). TFLM's Makefile fetches what it needs
    (flatbuffers, CMSIS, CMSIS-NN...) into the checkout's downloads/ folder the first time; raises WorkbenchError in one sentence
    when the script fails, with its last lines as details."""
    checkout = check_checkout(checkout)
    options = makefile_options(core)
    if shutil.which("make") is None:
        raise WorkbenchError("exporting a TFLM tree needs make, which is not installed", "Install make and try again.")
    python = shutil.which("python3") if frozen() else sys.executable  # a bundle is no Python: the system's
    if python is None:
        raise WorkbenchError(
            "exporting a TFLM tree needs python3 with numpy and Pillow, which is not installed",
            "Install Python 3 and try again.",
        )
    argv = [python, CREATE_TREE_SCRIPT, str(out_dir.resolve())]
    if options:
        argv.append("--makefile_options=" + " ".join(options))
    # TFLM's Makefile runs `python3` (with numpy and Pillow): this interpreter's, first on the PATH.
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(python).parent), os.environ.get("PATH", "")])}
    result = run_process(argv, task, what="create_tflm_tree.py", cwd=checkout, timeout_s=1800, env=env)
    if not result.ok:
        tail = "\n".join(result.tail[-15:])
        missing = "download" in tail.lower() or "could not resolve" in tail.lower()
        raise WorkbenchError(
            f"TFLM's create_tflm_tree.py failed in {checkout} ({result.reason})",
            "TFLM's Makefile could not fetch its third-party downloads (flatbuffers, gemmlowp, ruy, kissfft, CMSIS): "
            "run it once where the network is reachable, or put them into tensorflow/lite/micro/tools/make/downloads."
            if missing
            else "Its last lines are under Details; the script needs python3 with numpy and Pillow, and make.",
            tail,
        )
