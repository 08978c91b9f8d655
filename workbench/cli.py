"""Command line: `tinyml-workbench analyze|boards|run`, or no command to open the GUI."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.cli_parser import COMMANDS, build_parser, unknown_command
from workbench.core.errors import WorkbenchError
from workbench.logs import log_path, setup_logging
from workbench.units import kb

if TYPE_CHECKING:
    from workbench.optimize.plan import Plan

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    setup_logging()
    if argv and (problem := unknown_command(argv[0])):
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if not argv or argv[0] not in COMMANDS and not argv[0].startswith("-"):
        return _gui(argv[0] if argv else None)
    args = build_parser().parse_args(argv)
    if args.command in (None, "gui"):
        return _gui(getattr(args, "model", None))
    _terminate_like_ctrl_c()
    try:
        return COMMAND_RUNNERS[args.command](args)
    except WorkbenchError as error:
        _TERMINAL.end()
        if error.details:
            log.warning("%s\n%s", error.message, error.details)
        print(f"error: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"hint: {error.hint}", file=sys.stderr)
        if error.details:
            print(f"details: in the log file, {log_path()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # noqa: BLE001 - a bug must reach a person as one line, not a traceback
        log.exception("unexpected error in '%s'", args.command)
        print(f"error: unexpected {type(error).__name__}; details are in the log file, {log_path()}", file=sys.stderr)
        return 1


def _terminate_like_ctrl_c() -> None:
    """SIGTERM (how a parent or a service manager ends a command) unwinds like Ctrl+C, so what a
    command holds is released on the way out: a port's link removed, a tool's process ended."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if hasattr(signal, "SIGTERM") and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


def _gui(model: str | None) -> int:
    if model is not None and not Path(model).expanduser().exists():
        print(f"error: {model}: no such file or folder", file=sys.stderr)
        return 2
    if not _display_available():
        print(
            "error: no display to open the app on (DISPLAY and WAYLAND_DISPLAY are not set)\n"
            "hint: run it on a desktop, set QT_QPA_PLATFORM=offscreen, or use a command: "
            f"{', '.join(c for c in COMMANDS if c != 'gui')}",
            file=sys.stderr,
        )
        return 2
    from workbench.ui.app import run_app

    return run_app(model)


def _display_available() -> bool:
    """Whether Qt has a screen to open a window on (always on Windows and macOS)."""
    if sys.platform in ("win32", "darwin") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2))


def _analyze(args: argparse.Namespace) -> int:
    from workbench.core.analysis import analyze
    from workbench.core.fit import analysis_fit
    from workbench.core.loading import load_model
    from workbench.plugins import registry
    from workbench.text_report import analysis_text

    board = registry().boards().get(args.board) if args.board else None
    model = load_model(args.model, allow_unsafe=args.allow_unsafe)
    result = analyze(model, measure=not args.no_tflm)
    board_fit = analysis_fit(result, board) if board else None
    if args.json:
        data = result.to_json()
        if board_fit:
            data["fit"] = board_fit.to_json()
        _print_json(data)
    else:
        print(analysis_text(result, board, board_fit))
    return 0


def _plan(args: argparse.Namespace) -> Any:
    from workbench.optimize.plan import Plan

    converted = Path(args.model).suffix.lower() == ".tflite"  # cannot be quantized again: kept as it is
    return Plan(
        quant=args.quant or ("float32" if converted else "int8"),
        float_io=getattr(args, "float_io", False),
        sparsity=args.sparsity,
        per_tensor_dense=args.per_tensor_dense,
        strip=args.strip,
        calibration_samples=getattr(args, "calib_samples", 200),
        epochs=getattr(args, "epochs", 0),
    )


def _estimate(args: argparse.Namespace) -> int:
    from workbench.core.analysis import analyze
    from workbench.core.errors import WorkbenchError
    from workbench.core.loading import load_model
    from workbench.optimize.estimate import estimate
    from workbench.optimize.plan import plan_problems

    plan = _plan(args)
    model = load_model(args.model, allow_unsafe=args.allow_unsafe)
    problems = plan_problems(plan, model.format)
    if problems:
        raise WorkbenchError(problems[0])
    result = estimate(model, analyze(model), plan)
    if args.json:
        _print_json({"plan": plan.to_json(), **result.to_json()})
    else:
        print(f"{model.name}, {plan.describe(model.format)} (estimate):")
        print(f"  flash       {kb(result.flash_bytes):>10}  ({result.flash_bytes:,} bytes)")
        print(f"  arena       {kb(result.arena_bytes):>10}")
        print(f"  compressed  {kb(result.compressed_bytes):>10}")
    return 0


def output_path(given: str, model: Path, plan: Plan) -> Path:
    """Where `-o` writes: a folder gets the plan's file name (`<model>_<quant>.tflite`) inside it.
    Checked before any conversion starts, so a wrong path costs no time."""
    target = Path(given).expanduser()
    if target.is_dir() or given.endswith(("/", os.sep)):
        target = target / plan.file_name(model.stem)
    folder = target.parent if target.parent != Path("") else Path(".")
    if folder.exists() and (not folder.is_dir() or not os.access(folder, os.W_OK)):
        raise WorkbenchError(f"{given}: cannot write there ({folder} is not a writable folder)")
    return target


def _optimize(args: argparse.Namespace) -> int:
    from workbench.optimize.convert import optimize_file

    plan = _plan(args)
    target = output_path(args.output, Path(args.model), plan)
    variant = optimize_file(
        args.model, plan, calibration=args.calib, evaluation=args.eval, train=args.train, allow_unsafe=args.allow_unsafe
    )
    planning = None
    if args.plan_arena:
        from workbench.optimize.arena_planning import plan_arena
        from workbench.optimize.convert import compressed_bytes
        from workbench.optimize.estimate import Figures

        planning = plan_arena(variant.tflite)
        if planning.tflite != variant.tflite:  # the plan went in: the file and its arena changed
            variant.tflite = planning.tflite
            variant.actual = Figures(len(planning.tflite), planning.planned_arena, compressed_bytes(planning.tflite))
    output = variant.save(target)
    if args.json:
        extra = {"arena_plan": planning.to_json()} if planning is not None else {}
        _print_json({"output": str(output), **variant.to_json(), **extra})
        return 0
    for warning in variant.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    est, act = variant.estimate, variant.actual
    print(f"wrote {output} ({variant.label})")
    print(f"{'':12} {'estimate':>10} {'actual':>10}")
    print(f"{'flash':12} {kb(est.flash_bytes):>10} {kb(act.flash_bytes):>10}   ({variant.flash_error_pct:+.1f}%)")
    print(f"{'arena':12} {kb(est.arena_bytes):>10} {kb(act.arena_bytes):>10}")
    print(f"{'compressed':12} {kb(est.compressed_bytes):>10} {kb(act.compressed_bytes):>10}")
    if plan.sparsity:
        print(f"sparsity: {variant.sparsity:.1%} of conv and dense weights are zero")
    tflm = variant.analysis.tflm
    if tflm is not None:
        print("TFLM: runs" if tflm.compatible else f"TFLM: will not run ({tflm.problems[0].message})")
    if planning is not None:
        print(f"arena plan: {planning.summary}")
    if variant.evaluation is not None:
        print(variant.evaluation.summary)
        for warning in variant.evaluation.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    return 0


class _TerminalProgress:
    """One progress line on a terminal's stderr, redrawn only when it changes; a tool's log lines
    and errors go above it, never into it."""

    def __init__(self) -> None:
        self.shown = ""
        self.tty = sys.stderr.isatty()

    def progress(self, fraction: float, status: str) -> None:
        line = f"{fraction:4.0%} {status[:70]}"
        if self.tty and line != self.shown:
            print(f"\r\033[K{line}", end="", file=sys.stderr, flush=True)
            self.shown = line

    def log(self, line: str) -> None:
        self.end()
        print(f"  {line}", file=sys.stderr)

    def end(self) -> None:
        """Leave the progress line, so that what is printed next starts a line of its own."""
        if self.shown:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
            self.shown = ""


_TERMINAL = _TerminalProgress()


def _cli_task() -> Any:
    """A Task that shows progress on a terminal and prints a tool's own lines to stderr."""
    from workbench.tasks import Task

    return Task(on_progress=_TERMINAL.progress, on_log=_TERMINAL.log)


def _export(args: argparse.Namespace) -> int:
    from workbench.export.api import ExportOptions, check_options, deploy_model_from_file, export
    from workbench.plugins import registry

    board = registry().boards().get(args.board) if args.board else None
    checkout = Path(args.with_tflm).expanduser() if args.with_tflm else None
    options = ExportOptions(
        args.format, Path(args.output), board, args.symbol, args.language, replace=args.force, tflm_checkout=checkout
    )
    check_options(options)  # before the model is read and measured
    task = _cli_task()
    model = deploy_model_from_file(
        args.model, task.span(0.0, 0.5), measure=not args.no_tflm, allow_unsafe=args.allow_unsafe
    )
    result = export(model, options, task.span(0.5, 1.0))
    _TERMINAL.end()
    if args.json:
        files = [str(path) for path in result.files]
        _print_json({"format": result.format, "output": str(result.out_dir), "files": files, "notes": result.notes})
        return 0
    print(f"wrote {len(result.files)} file{'s' * (len(result.files) != 1)} to {result.out_dir}:")
    for path in result.files:
        print(f"  {path.relative_to(result.out_dir)}")
    for note in result.notes:
        print(f"note: {note}")
    return 0


def _flash(args: argparse.Namespace) -> int:
    from workbench.flash.service import FlashRequest, flash, plan
    from workbench.plugins import registry

    board = registry().boards().get(args.board)
    request = FlashRequest(Path(args.artifact), board, args.port, args.drive, args.flasher, args.model_only)
    if args.dry_run:
        steps = plan(request, registry())
        if args.json:
            _print_json([{"description": s.description, "command": list(s.command)} for s in steps])
        else:
            for number, step in enumerate(steps, 1):
                print(f"{number}. {step}")
        return 0
    result = flash(request, registry(), _cli_task())
    _TERMINAL.end()
    if args.json:
        _print_json(result.to_json())
    else:
        print(result.message)
    return 0


def _ports(args: argparse.Namespace) -> int:
    from workbench.flash.detect import describe_devices, detect_devices
    from workbench.plugins import registry

    boards = list(registry().boards().boards.values())
    devices = detect_devices(boards)
    if args.json:
        _print_json([device.to_json() for device in devices])
    elif not devices:
        print("no serial ports or UF2 drives found")
    else:
        print("\n".join(describe_devices(devices, boards)))
    return 0


def _record_line(record: Any) -> str:
    """A record as the monitor prints it: time, then name:value pairs, then [events]."""
    values = " ".join(f"{name}:{value:g}" for name, value in record.values.items())
    events = f" [{', '.join(record.events)}]" if record.events else ""
    return f"{record.time:10.3f}  {values}{events}".rstrip()


def _find_baud(port: str) -> int:
    from workbench.monitor.baud import find_baud

    search = find_baud(port, _cli_task())
    if search.baud is None:
        tried = ", ".join(str(rate) for rate in search.readable)
        raise WorkbenchError(
            f"{port} printed nothing readable at any common baud rate ({tried})",
            "Check that the board runs and prints, and the rate in its Serial.begin().",
        )
    print(f"{port} prints at {search.baud} baud.", file=sys.stderr)
    return search.baud


def _monitor(args: argparse.Namespace) -> int:
    from workbench.monitor.headless import run_monitor
    from workbench.plugins import registry

    if args.baud == "auto":
        args.baud = _find_baud(args.port)

    on_record = None if args.json else (lambda record: print(_record_line(record), flush=True))
    record = Path(args.record).expanduser() if args.record else None
    stats = run_monitor(
        args.port,
        args.baud,
        parsers=registry().parsers(),
        parser=args.format,
        record=record,
        duration_s=args.duration,
        on_record=on_record,
    )
    if args.json:
        _print_json(stats.to_json())
    else:
        summary = f"{stats.lines:,} lines, {stats.records:,} records, {stats.malformed:,} not understood"
        if stats.unreadable:
            summary += f", {stats.unreadable:,} unreadable"
        if stats.reconnects:
            summary += f", {stats.reconnects} reconnects"
        print(summary + (f"; recorded to {stats.recording}" if stats.recording else ""), file=sys.stderr)
    return 0


def _replay(args: argparse.Namespace) -> int:
    from workbench.monitor.replay import replay

    replay(
        Path(args.recording).expanduser(),
        speed=args.speed,
        link=Path(args.link).expanduser() if args.link else None,
        transport="socket" if args.socket else "pty",
        on_ready=lambda where: print(f"Replaying {args.recording} on {where}; Ctrl+C stops.", flush=True),
    )
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from workbench.monitor.simulator import describe_ready, simulate
    from workbench.shipped import sample_model

    model = sample_model().with_name("digits_int8.tflite") if args.model == "sample" else Path(args.model).expanduser()
    link = Path(args.link).expanduser() if args.link else None
    try:
        simulate(
            model,
            rate_hz=args.rate,
            input_path=Path(args.input).expanduser() if args.input else None,
            link=link,
            transport="socket" if args.socket else "pty",
            port=args.tcp_port,
            on_ready=lambda where: print(describe_ready(where, model.name, args.rate, link), flush=True),
        )
    except KeyboardInterrupt:
        pass  # Ctrl+C is how a virtual board is stopped
    return 0


def _boards(args: argparse.Namespace) -> int:
    from workbench.plugins import registry

    catalog = registry().boards()
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


def _udev_rules(args: argparse.Namespace) -> int:
    from workbench.core.files import write_whole
    from workbench.core.udev_rules import udev_rules
    from workbench.plugins import registry

    text = udev_rules(registry().boards().boards.values())
    if not args.output:
        print(text, end="")
        return 0
    write_whole(Path(args.output).expanduser(), text.encode())
    print(f"wrote {args.output}; now: sudo udevadm control --reload-rules && sudo udevadm trigger")
    return 0


def _plugins(args: argparse.Namespace) -> int:
    from workbench.plugins import registry

    catalog = registry().catalog()
    if args.json:
        _print_json(catalog.to_json())
        return 0
    print(f"{'kind':<8} {'name':<28} {'origin':<12} description")
    for plugin in catalog.plugins:
        replaces = f" (replaces {plugin.overrides})" if plugin.overrides else ""
        print(f"{plugin.kind:<8} {plugin.name:<28} {plugin.origin:<12} {plugin.description}{replaces}")
    if catalog.problems:
        print(f"\nskipped {len(catalog.problems)}:")
    for problem in catalog.problems:
        print(f"{problem.kind:<8} {problem.origin:<12} {problem.source}: {problem.message}")
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


COMMAND_RUNNERS = {
    "analyze": _analyze,
    "boards": _boards,
    "plugins": _plugins,
    "run": _run,
    "estimate": _estimate,
    "optimize": _optimize,
    "export": _export,
    "flash": _flash,
    "ports": _ports,
    "udev-rules": _udev_rules,
    "monitor": _monitor,
    "replay": _replay,
    "simulate": _simulate,
}
