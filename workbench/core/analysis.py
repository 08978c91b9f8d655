"""analyze(model) -> Analysis: per-operator figures, totals, flash breakdown, TFLM results."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from workbench.core.compute import count_macs, count_other_ops
from workbench.core.model import Model
from workbench.core.tflite_file import BIAS_INPUT, FLASH_CATEGORIES, Operator, Tensor, tensor_bytes
from workbench.core.tflm import TflmReport, check_tflm
from workbench.tasks import Task, null_task


@dataclass
class Layer:
    """One operator of the deployed graph, in execution order."""

    index: int
    name: str
    op: str
    inputs: list[list[int]]
    output: list[int]
    dtype: str
    params: int
    weight_bytes: int
    macs: int
    ops: int
    activation_bytes: int


@dataclass
class Totals:
    """Sums over layers; weight_bytes counts each constant buffer once (the converter shares them)."""

    params: int
    weight_bytes: int
    macs: int
    ops: int
    flash_bytes: int
    activation_peak_bytes: int


@dataclass
class TensorInfo:
    name: str
    shape: list[int]
    dtype: str
    scale: float | None
    zero_point: int | None


@dataclass
class Analysis:
    """Everything the Inspect page and `analyze` show; plain data, no Qt."""

    file: str
    format: str
    size_bytes: int
    layers: list[Layer]
    totals: Totals
    flash_breakdown: dict[str, int]
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    tflm: TflmReport | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def arena_bytes(self) -> int | None:
        return self.tflm.arena_bytes if self.tflm else None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["arena_bytes"] = self.arena_bytes
        data["recommended_arena_bytes"] = self.tflm.recommended_arena_bytes if self.tflm else None
        data["tflm"] = self.tflm.to_json() if self.tflm else None
        data["flash_breakdown"] = {
            key: {"bytes": value, "percent": round(100.0 * value / max(self.size_bytes, 1), 2)}
            for key, value in self.flash_breakdown.items()
        }
        return data


def _info(tensor: Tensor) -> TensorInfo:
    quant = tensor.quantization
    return TensorInfo(
        tensor.name,
        tensor.shape,
        tensor.dtype,
        quant.scales[0] if quant else None,
        quant.zero_points[0] if quant else None,
    )


def is_parameter(op: Operator, position: int, tensor: Tensor) -> bool:
    """A learned value: a constant that is not an integer shape, axis or padding argument.

    Integer constants count only as biases (int32 biases of quantized layers).
    """
    if not tensor.is_constant:
        return False
    if tensor.dtype in ("INT32", "INT64"):
        return BIAS_INPUT.get(op.op) == position
    return tensor.dtype not in ("BOOL", "STRING")


def graph_figures(model: Model) -> Analysis:
    """The static part of the analysis: read from the flatbuffer alone, in milliseconds."""
    graph = model.graph.main
    tensors = graph.tensors
    layers: list[Layer] = []
    seen_buffers: set[int] = set()
    total_weight_bytes = 0
    for op in graph.operators:
        constants = [
            tensors[i] for position, i in enumerate(op.inputs) if i >= 0 and is_parameter(op, position, tensors[i])
        ]
        constants = list({t.index: t for t in constants}.values())
        activations = [tensors[i] for i in op.inputs if i >= 0 and not tensors[i].is_constant]
        outputs = [tensors[i] for i in op.outputs if i >= 0]
        params = sum(t.elements for t in constants)
        weight_bytes = sum(len(t.data or b"") for t in constants)
        for tensor in constants:
            if tensor.buffer not in seen_buffers:
                seen_buffers.add(tensor.buffer)
                total_weight_bytes += len(tensor.data or b"")
        first = outputs[0] if outputs else None
        keras_name = model.layer_names[op.index] if op.index < len(model.layer_names) else ""
        layers.append(
            Layer(
                index=op.index,
                name=keras_name or (first.name if first else f"op_{op.index}"),
                op=op.op,
                inputs=[t.shape for t in activations],
                output=first.shape if first else [],
                dtype=first.dtype if first else "",
                params=params,
                weight_bytes=weight_bytes,
                macs=count_macs(op, tensors),
                ops=count_other_ops(op, tensors),
                activation_bytes=sum(tensor_bytes(t.dtype, t.elements) for t in outputs),
            )
        )
    totals = Totals(
        params=sum(layer.params for layer in layers),
        weight_bytes=total_weight_bytes,
        macs=sum(layer.macs for layer in layers),
        ops=sum(layer.ops for layer in layers),
        flash_bytes=model.size_bytes,
        activation_peak_bytes=max((layer.activation_bytes for layer in layers), default=0),
    )
    breakdown = {key: model.graph.flash_breakdown.get(key, 0) for key in FLASH_CATEGORIES}
    notes = list(model.notes)
    nested = model.graph.subgraphs[1:]
    if nested:
        count = sum(len(sg.operators) for sg in nested)
        notes.append(
            f"{count} operators in {len(nested)} nested subgraph(s) run inside control flow (WHILE/IF); "
            "the table lists the main graph, so their parameters and MACs are not counted."
        )
    return Analysis(
        file=str(model.path),
        format=model.format,
        size_bytes=model.size_bytes,
        layers=layers,
        totals=totals,
        flash_breakdown=breakdown,
        inputs=[_info(tensors[i]) for i in graph.inputs],
        outputs=[_info(tensors[i]) for i in graph.outputs],
        notes=notes,
    )


def analyze(model: Model, task: Task | None = None, *, measure: bool = True) -> Analysis:
    """Full analysis of a loaded model; with `measure`, TFLM prepares, runs and measures it."""
    task = task or null_task()
    analysis = graph_figures(model)
    task.progress(0.5, "Graph read")
    if measure:
        analysis.tflm = check_tflm(model, task.span(0.5, 1.0))
    task.progress(1.0, "Analysis done")
    return analysis
