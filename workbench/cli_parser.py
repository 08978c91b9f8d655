"""The command line's words: its commands, their arguments and help, and the sentence for a
first word that is no command (`build_parser`, `unknown_command`); workbench/cli.py runs them."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from workbench import __version__
from workbench.core.editions import edition
from workbench.core.names import closest

COMMANDS = (
    "analyze",
    "boards",
    "plugins",
    "run",
    "estimate",
    "optimize",
    "export",
    "flash",
    "ports",
    "udev-rules",
    "monitor",
    "replay",
    "simulate",
    "gui",
)
EXPORT_FORMATS = ("c", "arduino", "platformio", "cmake", "report")
QUANT_CHOICES = ("float32", "float16", "dynamic", "int8", "int16x8")


QUANT_HELP = "default: int8 (a .tflite file is kept as converted: float32)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinyml-workbench",
        description="Take a trained model to a microcontroller: inspect, optimize, deploy, monitor.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__} ({edition()} edition)")
    sub = parser.add_subparsers(dest="command")

    analyze = sub.add_parser("analyze", help="per-layer sizes, MACs, flash breakdown, TFLM arena and board fit")
    analyze.add_argument("model", help=".tflite, .keras, .h5 file or SavedModel folder")
    analyze.add_argument("--board", help="board id (see `boards`) to check the fit against")
    analyze.add_argument("--json", action="store_true", help="print one JSON object")
    analyze.add_argument("--no-tflm", action="store_true", help="skip the TFLM arena measurement and pre-flight")
    allow_unsafe(analyze)

    boards = sub.add_parser("boards", help="list the boards the workbench knows")
    boards.add_argument("--json", action="store_true", help="print a JSON list")

    udev = sub.add_parser("udev-rules", help="print the Linux udev rules that let a user flash and monitor the boards")
    udev.add_argument(
        "-o", "--output", help="write them to this file instead (e.g. /etc/udev/rules.d/60-tinyml-workbench.rules)"
    )

    plugins = sub.add_parser("plugins", help="list boards, flashers and parsers with their origin, and skipped plugins")
    plugins.add_argument("--json", action="store_true", help="print one JSON object")

    run = sub.add_parser("run", help="run the model on an input and print the prediction")
    run.add_argument("model")
    run.add_argument("--input", required=True, help='values like "0.12,0.34", or a .csv / .npy file')
    run.add_argument("--json", action="store_true")
    allow_unsafe(run)

    est = sub.add_parser("estimate", help="instant flash, arena and compressed-size estimate of an optimization")
    est.add_argument("model")
    est.add_argument("--quant", choices=QUANT_CHOICES, help=QUANT_HELP)
    est.add_argument("--sparsity", type=float, default=0.0, help="fraction of conv/dense weights pruned, 0-0.95")
    est.add_argument("--per-tensor-dense", action="store_true")
    est.add_argument("--strip", action="store_true")
    est.add_argument("--json", action="store_true")
    allow_unsafe(est)

    opt = sub.add_parser("optimize", help="quantize and prune a model, verified with TFLM")
    opt.add_argument("model")
    opt.add_argument("--quant", choices=QUANT_CHOICES, help=QUANT_HELP)
    opt.add_argument("--float-io", action="store_true", help="int8: keep float input and output")
    opt.add_argument("--sparsity", type=float, default=0.0, help="fraction of conv/dense weights pruned, 0-0.95")
    opt.add_argument(
        "--per-tensor-dense",
        action="store_true",
        help="per-tensor instead of per-channel quantization for dense layers (smaller)",
    )
    opt.add_argument(
        "--strip", action="store_true", help="drop tensor names, signatures and metadata that TFLM never reads"
    )
    opt.add_argument("--calib", help="calibration data: .npz (x[, y]), .npy, .csv or a folder of images")
    opt.add_argument("--calib-samples", type=int, default=200, help="how many calibration samples to use")
    opt.add_argument("--eval", help="evaluation data (labelled for accuracy, else fidelity)")
    opt.add_argument("--train", help="labelled training data for fine-tuning after pruning")
    opt.add_argument("--epochs", type=int, default=0, help="fine-tuning epochs after pruning")
    opt.add_argument(
        "--plan-arena",
        action="store_true",
        help="plan the tensor arena in the model (TFLM reads the plan): less RAM where TFLM's plan leaves gaps, "
        "proved in TFLM (same head, bit-identical outputs) before it is written",
    )
    opt.add_argument("-o", "--output", required=True, help="where to write the optimized .tflite")
    opt.add_argument("--json", action="store_true")
    allow_unsafe(opt)

    exp = sub.add_parser("export", help="C source, an Arduino library, a PlatformIO or CMake project, or a report")
    exp.add_argument("model", help=".tflite (as deployed), or a .keras/.h5/SavedModel (its float conversion)")
    exp.add_argument("--format", choices=EXPORT_FORMATS, default="c")
    exp.add_argument("-o", "--output", required=True, help="folder to write into (created when missing)")
    exp.add_argument("--board", help="board id: checks the fit and sets up the project for it")
    exp.add_argument("--symbol", default="g_model", help="name of the C array (default g_model)")
    exp.add_argument("--language", choices=("c++", "c"), default="c++", help="c writes model_data.c")
    exp.add_argument("--no-tflm", action="store_true", help="skip measuring the arena with TFLM (it is estimated)")
    exp.add_argument("--force", action="store_true", help="replace files in the folder that no export wrote")
    exp.add_argument(
        "--with-tflm",
        metavar="TFLM_CHECKOUT",
        help="cmake: export TFLM's sources from this tflite-micro checkout into the project (create_tflm_tree.py)",
    )
    exp.add_argument("--json", action="store_true")
    allow_unsafe(exp)

    fl = sub.add_parser("flash", help="write firmware (or only the model) to a board with its flasher")
    fl.add_argument("artifact", help="firmware (.uf2/.bin/.hex/.elf), an exported project folder, or a .tflite")
    fl.add_argument("--board", required=True, help="board id (see `boards`)")
    where = fl.add_mutually_exclusive_group()
    where.add_argument("--port", default="", help="serial port, or the debug probe's id for pyocd")
    where.add_argument("--drive", default="", help="the board's UF2 drive")
    fl.add_argument("--flasher", default="", help="use this flasher instead of the board's own")
    fl.add_argument("--model-only", action="store_true", help="write only the .tflite, at the board's model slot")
    fl.add_argument("--dry-run", action="store_true", help="print what would be done, with addresses; touch nothing")
    fl.add_argument("--json", action="store_true")

    ports = sub.add_parser("ports", help="serial ports and UF2 drives, with the board each one looks like")
    ports.add_argument("--json", action="store_true")

    mon = sub.add_parser("monitor", help="print what a board prints, parsed into channels (and record it)")
    mon.add_argument("--port", required=True, help="device (/dev/ttyACM0, COM3) or a pyserial URL (socket://host:port)")
    mon.add_argument(
        "--baud",
        type=baud_rate,
        default=115200,
        help="the board's rate, or auto: listen at the common rates and take the first that reads as text",
    )
    mon.add_argument("--format", default="auto", help="auto, or a parser name (see `plugins`)")
    mon.add_argument("--record", help="write every record to this CSV file")
    mon.add_argument("--duration", type=float, help="stop after this many seconds (default: Ctrl+C)")
    mon.add_argument("--json", action="store_true", help="print one summary at the end instead of the records")

    rep = sub.add_parser("replay", help="serve a recording as a serial port, at its pace or faster")
    rep.add_argument("recording", help="a CSV recorded by `monitor --record` or the Monitor page")
    rep.add_argument("--speed", type=float, default=1.0, help="2 plays twice as fast; 0 as fast as possible")
    rep.add_argument("--link", help="also reach the port at this path (a symlink)")
    rep.add_argument("--socket", action="store_true", help="serve socket://127.0.0.1:PORT instead of a pty")

    sim = sub.add_parser("simulate", help="a virtual board: the model runs here and prints its predictions")
    sim.add_argument("model", help=".tflite model (the bundled sample when it is 'sample')")
    sim.add_argument("--rate", type=float, default=10.0, help="predictions per second (up to 1000)")
    sim.add_argument(
        "--input", help="inputs to cycle through: .csv or .npy (default: the model's samples, else synthetic)"
    )
    sim.add_argument("--link", help="also reach the port at this path (a symlink)")
    sim.add_argument("--socket", action="store_true", help="serve socket://127.0.0.1:PORT instead of a pty (Windows)")
    sim.add_argument("--tcp-port", type=int, default=0, help="with --socket: the TCP port (0: any free one)")

    gui = sub.add_parser("gui", help="open the app (the default)")
    gui.add_argument("model", nargs="?", help="a model to open, or a .tmlw project")
    return parser


def allow_unsafe(command: argparse.ArgumentParser) -> None:
    """--allow-unsafe, for the commands that open a Keras model."""
    command.add_argument(
        "--allow-unsafe",
        action="store_true",
        help="allow Keras Lambda layers and custom objects in this file to run code",
    )


def unknown_command(word: str) -> str | None:
    """The error for a first argument that is neither a command nor an existing path, else None."""
    if word in COMMANDS or word.startswith("-") or Path(word).expanduser().exists():
        return None
    close = closest(word, COMMANDS, count=1)
    if close:
        return f"unknown command '{word}' (did you mean '{close[0]}'?)"
    looks_like_a_file = Path(word).suffix or os.sep in word or (os.altsep or os.sep) in word
    if looks_like_a_file:
        return f"{word}: no such file or folder"
    return f"unknown command '{word}' (commands: {', '.join(COMMANDS)})"


def baud_rate(text: str) -> int | str:
    """A --baud value: a whole number, or auto."""
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a baud rate: give a number such as 115200, or auto"
        ) from None
