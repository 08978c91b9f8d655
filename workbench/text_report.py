"""The readable table `analyze` prints: the same figures the Inspect page shows."""

from __future__ import annotations

from workbench.core.analysis import Analysis, Layer, nested_under
from workbench.core.boards import Board
from workbench.core.fit import Fit
from workbench.units import FLASH_LABELS, count, kb, percent, shape


def analysis_text(result: Analysis, board: Board | None = None, board_fit: Fit | None = None) -> str:
    lines = [f"{result.file}  ({result.format}, {result.size_bytes:,} bytes = {kb(result.size_bytes)})"]
    lines += [f"note: {note}" for note in result.notes]
    lines.append("")
    header = f"{'#':>5}  {'op':<20} {'name':<34} {'output':<14} {'dtype':<7} {'params':>8} {'weights':>10} {'MACs':>9} {'ops':>8} {'act.':>9}"
    lines += [header, "-" * len(header)]
    for layer in result.layers:
        lines.append(_row(layer))
        if layer.calls:
            lines += [_row(inner, nested=True) for inner in nested_under(layer, result.nested_layers)]
    totals = result.totals
    nested = " (inside control flow included)" if result.nested_layers else ""
    lines += [
        "",
        f"totals{nested}: {totals.params:,} parameters, {kb(totals.weight_bytes)} of weights, "
        f"{totals.macs:,} MACs, {totals.ops:,} other ops",
    ]
    lines += ["", "where the flash goes:"]
    for key, value in result.flash_breakdown.items():
        lines.append(f"  {FLASH_LABELS[key]:<26} {kb(value):>10}  {percent(value, result.size_bytes):>6}")
    tflm = result.tflm
    if tflm is not None:
        lines.append("")
        if tflm.arena_bytes:
            lines.append(
                f"tensor arena (measured by TFLM {tflm.tflm_version}): {tflm.arena_bytes:,} bytes = "
                f"{kb(tflm.arena_bytes)}; recommended {kb(tflm.recommended_arena_bytes)} "
                f"(+{tflm.margin_percent}% margin, whole KB)"
            )
        if tflm.crash_note:
            lines.append(f"warning: {tflm.crash_note}")
        if tflm.compatible:
            lines.append("TFLM pre-flight: every operator prepares and runs on TFLM")
        else:
            lines.append(f"TFLM pre-flight: {len(tflm.problems)} problem(s)")
            for p in tflm.problems:
                where = f"node {p.node} {p.op}" if p.node is not None else "model"
                where = f"subgraph {p.subgraph} {where}" if p.subgraph else where
                lines.append(f"  {where}: {p.message}\n    fix: {p.fix}")
    if board and board_fit:
        lines += ["", f"fit on {board.name} ({board.mcu}, {board.flash_kb} KB flash, {board.ram_kb} KB RAM):"]
        lines.append(
            f"  flash {kb(board_fit.flash_bytes)} of {kb(board_fit.flash_capacity_bytes)} "
            f"= {board_fit.flash_used_pct:.1f}%  {'fits' if board_fit.flash_ok else 'DOES NOT FIT'}"
            f", headroom {kb(board_fit.flash_headroom_bytes)}"
        )
        if board_fit.ram_bytes is not None:
            lines.append(
                f"  RAM   {kb(board_fit.ram_bytes)} of {kb(board_fit.ram_capacity_bytes)} "
                f"= {board_fit.ram_used_pct:.1f}%  {'fits' if board_fit.ram_ok else 'DOES NOT FIT'}"
                f", headroom {kb(board_fit.ram_headroom_bytes)}"
            )
        else:
            lines.append("  RAM   unknown (the arena could not be measured)")
        lines.append(f"  {board_fit.verdict}; {board_fit.headroom}")
    return "\n".join(lines)


def _row(layer: Layer, nested: bool = False) -> str:
    """One line of the layer table; an operator inside a subgraph is indented under the one that
    runs it, numbered subgraph:operator, with how often it runs ('x8')."""
    number = f"{layer.subgraph}:{layer.index}" if nested else str(layer.index)
    op = ("  " + layer.op) if nested else layer.op
    runs = "" if not nested else (" x?" if layer.runs is None else f" x{layer.runs}")
    name = layer.name if len(layer.name) + len(runs) <= 34 else "…" + layer.name[-(33 - len(runs)) :]
    return (
        f"{number:>5}  {op:<20} {name + runs:<34} {shape(layer.output):<14} {layer.dtype.lower():<7} "
        f"{layer.params:>8,} {kb(layer.weight_bytes):>10} {count(layer.macs):>9} {count(layer.ops):>8} "
        f"{kb(layer.activation_bytes):>9}"
    )
