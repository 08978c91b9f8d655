"""Command line: `tinyml-workbench analyze|boards|run`, or no command to open the GUI."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from workbench import __version__
from workbench.core.errors import WorkbenchError
from workbench.logs import setup_logging

log = logging.getLogger(__name__)

COMMANDS = ("analyze", "boards", "run", "gui")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinyml-workbench",
        description="Take a trained model to a microcontroller: inspect, optimize, deploy, monitor.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command")

    analyze = sub.add_parser("analyze", help="per-layer sizes, MACs, flash breakdown, TFLM arena and board fit")
    analyze.add_argument("model", help=".tflite, .keras, .h5 file or SavedModel folder")
    analyze.add_argument("--board", help="board id (see `boards`) to check the fit against")
    analyze.add_argument("--json", action="store_true", help="print one JSON object")
    analyze.add_argument("--no-tflm", action="store_true", help="skip the TFLM arena measurement and pre-flight")
    analyze.add_argument(
        "--allow-unsafe",
        action="store_true",
        help="allow Keras Lambda layers and custom objects in this file to run code",
    )

    boards = sub.add_parser("boards", help="list the boards the workbench knows")
    boards.add_argument("--json", action="store_true", help="print a JSON list")

    run = sub.add_parser("run", help="run the model on an input and print the prediction")
    run.add_argument("model")
    run.add_argument("--input", required=True, help='values like "0.12,0.34", or a .csv / .npy file')
    run.add_argument("--json", action="store_true")
    run.add_argument("--allow-unsafe", action="store_true")

    gui = sub.add_parser("gui", help="open the app (the default)")
    gui.add_argument("model", nargs="?")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    setup_logging()
    if not argv or (argv[0] not in COMMANDS and not argv[0].startswith("-")):
        return _gui(argv[0] if argv else None)
    args = build_parser().parse_args(argv)
    if args.command in (None, "gui"):
        return _gui(getattr(args, "model", None))
    try:
        if args.command == "analyze":
            return _analyze(args)
        if args.command == "boards":
            return _boards(args)
        if args.command == "run":
            return _run(args)
    except WorkbenchError as error:
        print(f"error: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"hint: {error.hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


def _gui(model: str | None) -> int:
    from workbench.ui.app import run_app

    return run_app(model)


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2))


def _analyze(args: argparse.Namespace) -> int:
    from workbench.core.analysis import analyze
    from workbench.core.boards import fit, load_boards
    from workbench.core.loading import load_model
    from workbench.text_report import analysis_text

    board = load_boards().get(args.board) if args.board else None
    model = load_model(args.model, allow_unsafe=args.allow_unsafe)
    result = analyze(model, measure=not args.no_tflm)
    board_fit = fit(result.size_bytes, result.arena_bytes, board) if board else None
    if args.json:
        data = result.to_json()
        if board_fit:
            data["fit"] = board_fit.to_json()
        _print_json(data)
    else:
        print(analysis_text(result, board, board_fit))
    return 0


def _boards(args: argparse.Namespace) -> int:
    from workbench.core.boards import load_boards

    catalog = load_boards()
    for problem in catalog.problems:
        print(f"warning: skipped {problem.message}", file=sys.stderr)
    boards = sorted(catalog.boards.values(), key=lambda b: b.name.lower())
    if args.json:
        _print_json([b.to_json() for b in boards])
        return 0
    print(f"{'id':<28} {'name':<30} {'MCU':<14} {'MHz':>5} {'flash':>9} {'RAM':>8}  flasher")
    for b in boards:
        print(f"{b.id:<28} {b.name:<30} {b.mcu:<14} {b.clock_mhz:>5g} {b.flash_kb:>6} KB {b.ram_kb:>5} KB  {b.flasher}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from workbench.core.inference import labels_for, parse_inputs, run_model
    from workbench.core.loading import load_model

    model = load_model(args.model, allow_unsafe=args.allow_unsafe)
    samples = parse_inputs(args.input)
    predictions = run_model(model, samples)
    labels = labels_for(Path(args.model))
    if args.json:
        _print_json(
            [
                {
                    "outputs": p.outputs,
                    "top": p.top_class,
                    "label": labels[p.top_class] if p.top_class < len(labels) else None,
                    "runtime": p.runtime,
                }
                for p in predictions
            ]
        )
        return 0
    for number, prediction in enumerate(predictions):
        prefix = f"sample {number}: " if len(predictions) > 1 else ""
        values = ", ".join(f"{v:.6g}" for v in prediction.outputs[0])
        line = f"{prefix}[{values}]"
        if len(prediction.outputs[0]) > 1:
            top = prediction.top_class
            line += f"  -> class {top}" + (f" ({labels[top]})" if top < len(labels) else "")
        print(line)
    print(f"(ran on {'TFLM' if predictions[0].runtime == 'tflm' else 'TensorFlow Lite'})", file=sys.stderr)
    return 0
