"""HTML report: one self-contained page (inline CSS and SVG charts, no request leaves it) with the
analysis, the board fit, and the chosen optimization with its accuracy and before/after figures.

Every string that comes from the model (layer and tensor names, labels, file names, notes) is
escaped: a layer may well be called `<dense & "out">`.
"""

from __future__ import annotations

import html
from collections import defaultdict
from pathlib import Path

from workbench import __version__
from workbench.core.analysis import Analysis, Layer, TensorInfo, nested_under
from workbench.core.boards import Board
from workbench.core.fit import Fit, analysis_fit
from workbench.export.api import DeployModel, ExportOptions
from workbench.export.arduino import identifier
from workbench.tasks import Task
from workbench.units import FLASH_LABELS, count, kb, percent, shape

BAR_WIDTH = 420  # px of the longest bar in a chart
LEVEL_COLOURS = {"good": "#2e7d32", "tight": "#ef8f00", "bad": "#c62828", "unknown": "#6b7280"}
STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2933; margin: 0;
       background: #f5f7fa; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 1px solid #e4e7eb;
     padding-bottom: 4px; }
.sub { color: #52606d; margin: 0; } nav a { margin-right: 12px; color: #3e4c59; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 10px; margin: 16px 0; }
.card { border: 1px solid #e4e7eb; border-radius: 6px; padding: 8px 12px; }
.card .label { color: #52606d; font-size: 12px; } .card .value { font-size: 18px; font-weight: 600; }
.card .detail { color: #52606d; font-size: 12px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin: 8px 0; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #e4e7eb; vertical-align: top; }
th { background: #f5f7fa; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.nested td { color: #52606d; } tr.nested td:first-child { padding-left: 20px; }
.verdict { font-size: 18px; font-weight: 600; padding: 8px 12px; border-radius: 6px; color: #fff; display: inline-block; }
.problem { border-left: 4px solid #c62828; padding: 4px 12px; margin: 8px 0; background: #fdecea; }
.warning { border-left: 4px solid #ef8f00; padding: 4px 12px; margin: 8px 0; background: #fff4e5; }
svg { max-width: 100%; height: auto; }
svg text { font: 12px system-ui, sans-serif; fill: #1f2933; }
footer { color: #7b8794; font-size: 12px; margin-top: 40px; }
"""


def esc(value: object) -> str:
    """`value` as HTML text, with &, <, >, " and ' escaped."""
    return html.escape(str(value), quote=True)


def num(value: int | None) -> str:
    """'12,345', or '-' when unknown."""
    return "-" if value is None else f"{value:,}"


def write(model: DeployModel, options: ExportOptions, folder: Path, task: Task) -> list[str]:
    """Write <name>_report.html into `folder`; return notes for the person."""
    task.progress(0.2, "Writing the report")
    page = report_html(model, options.board)
    path = folder / f"{identifier(model.name)}_report.html"
    path.write_text(page, encoding="utf-8")
    task.progress(1.0, "Report written")
    notes = [f"{path.name} is one page with everything in it: open it in any browser, no network needed."]
    if model.analysis.tflm is None:
        notes.append("TFLM did not measure this model: the report has no tensor arena figure.")
    return notes


def report_html(model: DeployModel, board: Board | None = None) -> str:
    """The whole report page for `model`, with its fit on `board` when one is given."""
    analysis = model.analysis
    sections = [
        ("summary", "Summary", _summary(model)),
        *([("fit", f"Fit on {board.name}", _fit_section(analysis_fit(analysis, board), board))] if board else []),
        ("optimization", "Optimization and accuracy", _optimization(model)),
        ("flash", "Where the flash goes", _flash(analysis)),
        ("operators", "Operators", _operator_types(analysis) + _layers(analysis)),
        ("tensors", "Inputs and outputs", _tensors(analysis, model.labels)),
        ("tflm", "TensorFlow Lite Micro", _tflm(analysis)),
    ]
    if analysis.notes:
        sections.append(("notes", "Notes", "<ul>" + "".join(f"<li>{esc(n)}</li>" for n in analysis.notes) + "</ul>"))
    nav = "".join(f'<a href="#{key}">{esc(title)}</a>' for key, title, _ in sections)
    body = "".join(f'<section id="{key}"><h2>{esc(title)}</h2>{content}</section>' for key, title, content in sections)
    subtitle = esc(model.origin or Path(analysis.file).name)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(model.name)} - TinyML Workbench report</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{STYLE}</style></head><body><main>"
        f"<h1>{esc(model.name)}</h1><p class='sub'>{subtitle}</p>"
        f"<p class='sub'>{esc(analysis.file)} ({esc(analysis.format)})</p>"
        f"<nav>{nav}</nav>{body}"
        f"<footer>Written by TinyML Workbench {esc(__version__)}. Figures per inference; 1 KB = 1024 bytes.</footer>"
        "</main></body></html>\n"
    )


def _card(label: str, value: str, detail: str = "") -> str:
    extra = f"<div class='detail'>{detail}</div>" if detail else ""
    return f"<div class='card'><div class='label'>{esc(label)}</div><div class='value'>{value}</div>{extra}</div>"


def _summary(model: DeployModel) -> str:
    analysis = model.analysis
    totals = analysis.totals
    tflm = analysis.tflm
    runs, problem = analysis.runs_on_tflm
    if tflm is not None and tflm.arena_bytes:
        arena = _card(
            "Tensor arena (measured by TFLM)",
            f"{num(tflm.arena_bytes)} bytes",
            f"{esc(kb(tflm.arena_bytes))}; recommended {num(tflm.recommended_arena_bytes)} bytes "
            f"(+{tflm.margin_percent}%)",
        )
    else:
        arena = _card("Tensor arena", "not measured", "TFLM did not measure this model")
    runs_text = {True: "runs", False: "does not run", None: "not checked"}[runs]
    cards = [
        _card("Model size (flash)", f"{num(analysis.size_bytes)} bytes", esc(kb(analysis.size_bytes))),
        _card(
            "Parameters",
            num(totals.params),
            f"{esc(kb(totals.weight_bytes))} of weights ({num(totals.weight_bytes)} bytes)",
        ),
        _card("MACs per inference", num(totals.macs), esc(count(totals.macs))),
        _card("Other operations", num(totals.ops), esc(count(totals.ops))),
        _card(
            "Largest activation", f"{num(totals.activation_peak_bytes)} bytes", esc(kb(totals.activation_peak_bytes))
        ),
        arena,
        _card("TFLM", esc(runs_text), esc(problem)),
        _card("Operators", num(len(analysis.layers)), f"{len({layer.op for layer in analysis.layers})} kinds"),
    ]
    return f"<div class='cards'>{''.join(cards)}</div>"


def _bar_chart(rows: list[tuple[str, float, str]], title: str, colour: str = "#3e7cb1") -> str:
    """Horizontal bars as inline SVG: (label, value, text after the bar) per row."""
    if not rows:
        return ""
    label_width, row_height, text_width = 210, 22, 170
    largest = max(value for _, value, _ in rows) or 1.0
    height = row_height * len(rows) + 4
    width = label_width + BAR_WIDTH + text_width
    parts = [
        f'<svg role="img" aria-label="{esc(title)}" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
    ]
    parts.append(f"<title>{esc(title)}</title>")
    for row, (label, value, after) in enumerate(rows):
        y = row * row_height + 2
        bar = max(value / largest * BAR_WIDTH, 1.0 if value > 0 else 0.0)
        shown = label if len(label) <= 30 else label[:29] + "…"
        parts.append(f'<text x="0" y="{y + 15}">{esc(shown)}</text>')
        parts.append(
            f'<rect x="{label_width}" y="{y + 3}" width="{bar:.1f}" height="{row_height - 8}" fill="{colour}" rx="2"/>'
        )
        parts.append(f'<text x="{label_width + bar + 6:.1f}" y="{y + 15}">{esc(after)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _usage_bar(what: str, used: int | None, capacity: int, level: str) -> str:
    """One memory's use against the board's capacity, as an inline SVG gauge."""
    width, height = BAR_WIDTH + 260, 30
    if used is None:
        label = f"{what}: unknown of {kb(capacity)} (the arena was not measured)"
        fill = 0.0
    else:
        label = f"{what}: {kb(used)} of {kb(capacity)} ({percent(used, capacity)})"
        fill = min(used / capacity, 1.0) * BAR_WIDTH if capacity else 0.0
    colour = LEVEL_COLOURS.get(level, LEVEL_COLOURS["unknown"])
    return (
        f'<div><svg role="img" aria-label="{esc(label)}" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f'<rect x="0" y="6" width="{BAR_WIDTH}" height="16" fill="#e4e7eb" rx="3"/>'
        f'<rect x="0" y="6" width="{fill:.1f}" height="16" fill="{colour}" rx="3"/>'
        f'<text x="{BAR_WIDTH + 8}" y="19">{esc(label)}</text></svg></div>'
    )


def _fit_section(fit: Fit, board: Board) -> str:
    colour = LEVEL_COLOURS.get(fit.level, LEVEL_COLOURS["unknown"])
    about = (
        f"{esc(board.name)}: {esc(board.mcu)} ({esc(board.core)}, {board.clock_mhz:g} MHz), "
        f"{num(board.flash_kb)} KB flash, {num(board.ram_kb)} KB RAM"
    )
    ram_pct = "-" if fit.ram_used_pct is None else f"{fit.ram_used_pct:.1f}%"
    rows = [
        (
            "Flash: the model",
            f"{num(fit.flash_bytes)} of {num(fit.flash_capacity_bytes)} bytes",
            f"{fit.flash_used_pct:.1f}%",
        ),
        ("RAM: the tensor arena", f"{num(fit.ram_bytes)} of {num(fit.ram_capacity_bytes)} bytes", ram_pct),
    ]
    table = "<table><tr><th>What</th><th class='num'>Bytes</th><th class='num'>Share</th></tr>" + "".join(
        f"<tr><td>{esc(a)}</td><td class='num'>{esc(b)}</td><td class='num'>{esc(c)}</td></tr>" for a, b, c in rows
    )
    return (
        f"<p class='verdict' style='background:{colour}'>{esc(fit.verdict)}</p>"
        f"<p>{about}. {esc(fit.headroom)} for the rest of the firmware (model and arena only).</p>"
        + _usage_bar("Flash", fit.flash_bytes, fit.flash_capacity_bytes, fit.flash_level)
        + _usage_bar("RAM", fit.ram_bytes, fit.ram_capacity_bytes, fit.ram_level)
        + table
        + "</table>"
    )


def _change(before: int | None, after: int | None) -> str:
    if before is None or after is None:
        return "-"
    if before == 0:
        return "-" if after == 0 else "new"
    return f"{100.0 * (after - before) / before:+.1f}%"


def _optimization(model: DeployModel) -> str:
    parts = [
        "<table>",
        f"<tr><th>Model</th><td>{esc(model.origin or model.name)}</td></tr>",
        f"<tr><th>Optimization</th><td>{esc(model.optimization or 'none: the model as analyzed')}</td></tr>",
        f"<tr><th>Accuracy</th><td>{esc(model.accuracy or 'not measured')}</td></tr>",
        "</table>",
    ]
    reference = model.reference
    if reference is None:
        return "".join(parts)
    after = model.analysis
    rows: list[tuple[str, int | None, int | None]] = [
        ("Model size (bytes)", reference.size_bytes, after.size_bytes),
        ("Parameters", reference.totals.params, after.totals.params),
        ("Weights (bytes)", reference.totals.weight_bytes, after.totals.weight_bytes),
        ("MACs per inference", reference.totals.macs, after.totals.macs),
        ("Largest activation (bytes)", reference.totals.activation_peak_bytes, after.totals.activation_peak_bytes),
        ("Tensor arena (bytes, measured)", reference.arena_bytes, after.arena_bytes),
    ]
    parts.append("<h3>Before and after</h3><table><tr><th>Figure</th><th class='num'>Before</th>")
    parts.append("<th class='num'>After</th><th class='num'>Change</th></tr>")
    for label, before, now in rows:
        parts.append(
            f"<tr><td>{esc(label)}</td><td class='num'>{num(before)}</td><td class='num'>{num(now)}</td>"
            f"<td class='num'>{esc(_change(before, now))}</td></tr>"
        )
    parts.append("</table>")
    bars = [
        ("Before", float(reference.size_bytes), kb(reference.size_bytes)),
        ("After", float(after.size_bytes), kb(after.size_bytes)),
    ]
    parts.append(_bar_chart(bars, "Model size before and after", "#7b61ff"))
    return "".join(parts)


def _flash(analysis: Analysis) -> str:
    rows = [
        (FLASH_LABELS.get(key, key), value)
        for key, value in sorted(analysis.flash_breakdown.items(), key=lambda item: -item[1])
    ]
    chart = _bar_chart(
        [(label, float(value), f"{kb(value)} ({percent(value, analysis.size_bytes)})") for label, value in rows],
        "Where the flash goes",
    )
    table = "<table><tr><th>Part</th><th class='num'>Bytes</th><th class='num'>Share</th></tr>" + "".join(
        f"<tr><td>{esc(label)}</td><td class='num'>{num(value)}</td>"
        f"<td class='num'>{esc(percent(value, analysis.size_bytes))}</td></tr>"
        for label, value in rows
    )
    return (
        chart + table + f"<tr><th>Whole model</th><th class='num'>{num(analysis.size_bytes)}</th><th></th></tr></table>"
    )


def _operator_types(analysis: Analysis) -> str:
    """Per operator type: how many, and their share of the MACs (nested operators included)."""
    counts: dict[str, int] = defaultdict(int)
    macs: dict[str, int] = defaultdict(int)
    for layer in analysis.layers:
        counts[layer.op] += 1
        macs[layer.op] += layer.macs
    for layer in analysis.nested_layers:
        counts[layer.op] += 1
    order = sorted(counts, key=lambda op: (-macs[op], op))
    total = analysis.totals.macs
    chart = _bar_chart(
        [(op, float(macs[op]), f"{count(macs[op])} MACs ({percent(macs[op], total)})") for op in order if macs[op]],
        "MACs per operator type",
    )
    table = (
        "<table><tr><th>Operator</th><th class='num'>Count</th><th class='num'>MACs</th><th class='num'>Share</th></tr>"
    )
    table += "".join(
        f"<tr><td>{esc(op)}</td><td class='num'>{counts[op]}</td><td class='num'>{num(macs[op])}</td>"
        f"<td class='num'>{esc(percent(macs[op], total))}</td></tr>"
        for op in order
    )
    return "<h3>By type</h3>" + chart + table + "</table>"


def _layer_row(layer: Layer, nested: bool) -> str:
    number = f"{layer.subgraph}:{layer.index}" if nested else str(layer.index)
    runs = "" if not nested else (" (x?)" if layer.runs is None else f" (x{layer.runs})")
    cells = [
        esc(number),
        esc(layer.op),
        esc(layer.name) + esc(runs),
        esc(shape(layer.output)),
        esc(layer.dtype.lower()),
    ]
    figures = [num(layer.params), num(layer.weight_bytes), num(layer.macs), num(layer.ops), num(layer.activation_bytes)]
    row_class = " class='nested'" if nested else ""
    return (
        f"<tr{row_class}>"
        + "".join(f"<td>{cell}</td>" for cell in cells)
        + "".join(f"<td class='num'>{figure}</td>" for figure in figures)
        + "</tr>"
    )


def _layers(analysis: Analysis) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("#", "Operator", "Name", "Output", "Type"))
    head += "".join(
        f"<th class='num'>{h}</th>" for h in ("Parameters", "Weights (bytes)", "MACs", "Other ops", "Output (bytes)")
    )
    rows = []
    for layer in analysis.layers:
        rows.append(_layer_row(layer, nested=False))
        rows += [_layer_row(inner, nested=True) for inner in nested_under(layer, analysis.nested_layers)]
    totals = analysis.totals
    total_row = (
        "<tr><th colspan='5'>Totals</th>"
        + "".join(
            f"<th class='num'>{num(v)}</th>"
            for v in (totals.params, totals.weight_bytes, totals.macs, totals.ops, totals.activation_peak_bytes)
        )
        + "</tr>"
    )
    return f"<h3>Every operator, in execution order</h3><table><tr>{head}</tr>{''.join(rows)}{total_row}</table>"


def _tensor_row(kind: str, index: int, info: TensorInfo) -> str:
    quant = "-" if info.scale is None else f"scale {info.scale:.6g}, zero point {info.zero_point}"
    return (
        f"<tr><td>{esc(kind)} {index}</td><td>{esc(info.name)}</td><td>{esc(shape(info.shape))}</td>"
        f"<td>{esc(info.dtype.lower())}</td><td>{esc(quant)}</td></tr>"
    )


def _tensors(analysis: Analysis, labels: tuple[str, ...]) -> str:
    rows = [_tensor_row("input", i, t) for i, t in enumerate(analysis.inputs)]
    rows += [_tensor_row("output", i, t) for i, t in enumerate(analysis.outputs)]
    table = (
        "<table><tr><th>Tensor</th><th>Name</th><th>Shape</th><th>Type</th><th>Quantization</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    if labels:
        table += f"<p>Labels, in the order of the output: {', '.join(esc(label) for label in labels)}</p>"
    return table


def _tflm(analysis: Analysis) -> str:
    tflm = analysis.tflm
    if tflm is None:
        return "<p>TFLM did not measure this model (no pre-flight, no arena figure).</p>"
    parts = [f"<p>Measured with TensorFlow Lite Micro {esc(tflm.tflm_version or '(version unknown)')}.</p>"]
    if tflm.arena_bytes:
        parts.append(
            f"<p>Smallest tensor arena in which it prepares and runs: {num(tflm.arena_bytes)} bytes "
            f"({esc(kb(tflm.arena_bytes))}); recommended {num(tflm.recommended_arena_bytes)} bytes "
            f"(+{tflm.margin_percent}% margin, whole KB).</p>"
        )
    if tflm.allocation_parts:
        parts.append("<table><tr><th>Arena part</th><th class='num'>Bytes</th></tr>")
        parts += [
            f"<tr><td>{esc(part)}</td><td class='num'>{num(value)}</td></tr>"
            for part, value in tflm.allocation_parts.items()
        ]
        parts.append("</table>")
    if tflm.crash_note:
        parts.append(f"<p class='warning'>{esc(tflm.crash_note)}</p>")
    if tflm.compatible:
        parts.append("<p>Pre-flight: every operator prepares and runs on TFLM.</p>")
    for problem in tflm.problems:
        where = f"node {problem.node} {problem.op}" if problem.node is not None else "the model"
        if problem.subgraph:
            where = f"subgraph {problem.subgraph} {where}"
        parts.append(
            f"<div class='problem'><b>{esc(where)}</b>: {esc(problem.message)}<br>Fix: {esc(problem.fix)}</div>"
        )
    return "".join(parts)
