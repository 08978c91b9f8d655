"""analyze(model) -> Analysis: per-operator figures, totals, flash breakdown, TFLM results."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from workbench.core.compute import RECURRENT_BIASES, RECURRENT_WEIGHTS, count_macs, count_other_ops
from workbench.core.control_flow import Call, calls, loop_carried
from workbench.core.model import Model
from workbench.core.tflite_file import BIAS_INPUT, FLASH_CATEGORIES, Operator, Subgraph, Tensor, tensor_bytes
from workbench.core.tflm import TflmReport, check_tflm
from workbench.tasks import Task, null_task


@dataclass
class Layer:
    """One operator of the deployed graph, in execution order.

    Figures are per run of the operator. An operator that runs subgraphs (WHILE, IF) includes
    theirs: a WHILE loop's MACs are its body's times the iterations. Operators inside those
    subgraphs are listed apart (`Analysis.nested_layers`), with their subgraph and how many
    times they run per inference.
    """

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
    subgraph: int = 0  # 0: the main graph
    runs: int | None = 1  # runs per inference; None: inside a loop whose trip count is unknown
    calls: list[int] = field(default_factory=list)  # subgraphs this operator runs
    called_by: list[int] = field(default_factory=list)  # [subgraph, operator] that runs this one


@dataclass
class Totals:
    """Sums over layers, nested subgraphs included; weight_bytes counts each constant buffer once
    (the converter shares them)."""

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
    nested_layers: list[Layer] = field(default_factory=list)  # operators inside WHILE/IF subgraphs

    @property
    def arena_bytes(self) -> int | None:
        return self.tflm.arena_bytes if self.tflm else None

    @property
    def runs_on_tflm(self) -> tuple[bool | None, str]:
        """Whether TFLM runs the model (None until it is measured) and, when not, the first problem."""
        if self.tflm is None:
            return None, ""
        return self.tflm.compatible, self.tflm.problems[0].message if self.tflm.problems else ""

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


# The value a resource variable starts from is not a learned one.
_STATE_OPS = frozenset({"ASSIGN_VARIABLE"})


def nested_under(layer: Layer, nested: list[Layer]) -> list[Layer]:
    """The nested layers that `layer` runs (a WHILE's body, an IF's branches), and theirs in turn,
    each after the one that runs it."""
    found: list[Layer] = []
    for inner in nested:
        if inner.called_by == [layer.subgraph, layer.index]:
            found.append(inner)
            found += nested_under(inner, nested)
    return found


def is_parameter(op: Operator, position: int, tensor: Tensor) -> bool:
    """A learned value: a constant that is not an integer shape, axis or padding argument.

    Integer constants count only as biases (int32 biases of quantized layers).
    """
    if not tensor.is_constant or op.op in _STATE_OPS:
        return False
    if tensor.dtype in ("INT32", "INT64"):
        return BIAS_INPUT.get(op.op) == position or position in RECURRENT_BIASES.get(op.op, ())
    return tensor.dtype not in ("BOOL", "STRING")


def graph_figures(model: Model) -> Analysis:
    """The static part of the analysis: read from the flatbuffer alone, in milliseconds."""
    graph = model.graph.main
    tensors = graph.tensors
    nested: list[Layer] = []
    notes = list(model.notes)
    layers = _graph_layers(model, 0, 1, [0], nested, notes)
    unreached = set(range(1, len(model.graph.subgraphs))) - {sub for layer in layers + nested for sub in layer.calls}
    if unreached:
        notes.append(
            f"{len(unreached)} subgraph(s) that no operator of the main graph runs (signatures of other "
            "functions) are not counted."
        )
    total_weight_bytes = 0
    seen_buffers: set[int] = set()
    for layer_graph, op in _reached_operators(model, layers, nested):
        for tensor in _parameters(model, layer_graph, op):
            if tensor.buffer not in seen_buffers:
                seen_buffers.add(tensor.buffer)
                total_weight_bytes += len(tensor.data or b"")
    totals = Totals(
        params=sum(layer.params for layer in layers),
        weight_bytes=total_weight_bytes,
        macs=sum(layer.macs for layer in layers),
        ops=sum(layer.ops for layer in layers),
        flash_bytes=model.size_bytes,
        activation_peak_bytes=max((layer.activation_bytes for layer in layers + nested), default=0),
    )
    breakdown = {key: model.graph.flash_breakdown.get(key, 0) for key in FLASH_CATEGORIES}
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
        nested_layers=nested,
    )


def _parameters(model: Model, graph: Subgraph, op: Operator) -> list[Tensor]:
    """The learned values an operator reads, one per input slot. A WHILE loop's inputs that its body
    changes are starting values (counters, zero states); those it passes on unchanged are weights
    its body reads, as are the inputs an IF hands to its branches."""
    skip = loop_carried(model.graph, op) if op.op == "WHILE" else set()
    return [
        graph.tensors[i]
        for position, i in enumerate(op.inputs)
        if i >= 0 and position not in skip and is_parameter(op, position, graph.tensors[i])
    ]


def _layer(model: Model, graph: Subgraph, subgraph: int, op: Operator, runs: int | None) -> Layer:
    """One operator's own figures (without the subgraphs it runs)."""
    tensors = graph.tensors
    slots = _parameters(model, graph, op)
    constants = list({t.index: t for t in slots}.values())
    # A recurrent kernel's gates have their own weights and biases even where the converter stored
    # equal ones (the zero biases of a Keras LSTM) once: count each slot, as Keras does.
    params = sum(t.elements for t in (slots if op.op in RECURRENT_WEIGHTS else constants))
    activations = [tensors[i] for i in op.inputs if i >= 0 and not tensors[i].is_constant]
    outputs = [tensors[i] for i in op.outputs if i >= 0]
    first = outputs[0] if outputs else None
    keras_name = model.layer_names[op.index] if subgraph == 0 and op.index < len(model.layer_names) else ""
    return Layer(
        index=op.index,
        name=keras_name or (first.name if first else f"op_{op.index}"),
        op=op.op,
        inputs=[t.shape for t in activations],
        output=first.shape if first else [],
        dtype=first.dtype if first else "",
        params=params,
        weight_bytes=sum(len(t.data or b"") for t in constants),
        macs=count_macs(op, tensors),
        ops=count_other_ops(op, tensors),
        activation_bytes=sum(tensor_bytes(t.dtype, t.elements) for t in outputs),
        subgraph=subgraph,
        runs=runs,
    )


def _graph_layers(
    model: Model,
    subgraph: int,
    runs: int | None,
    stack: list[int],
    nested: list[Layer],
    notes: list[str],
    called_by: list[int] | None = None,
) -> list[Layer]:
    """The layers of one subgraph, each control-flow operator carrying the figures of what it runs.

    Operators of the subgraphs reached are appended to `nested`, with their runs per inference.
    """
    graph = model.graph.subgraphs[subgraph]
    layers = []
    for op in graph.operators:
        layer = _layer(model, graph, subgraph, op, runs)
        layers.append(layer)
        if called_by is not None:
            layer.called_by = list(called_by)
            nested.append(layer)
        called = [c for c in calls(model.graph, graph, op.index) if c.subgraph not in stack]
        parts: list[tuple[int, list[Layer]]] = []
        for call in called:
            inner_runs = None if runs is None or call.runs is None else runs * call.runs
            children = _graph_layers(
                model, call.subgraph, inner_runs, [*stack, call.subgraph], nested, notes, [subgraph, op.index]
            )
            layer.calls.append(call.subgraph)
            layer.params += sum(c.params for c in children)
            layer.weight_bytes += sum(c.weight_bytes for c in children)
            parts.append((1 if call.runs is None else call.runs, children))
        if parts:
            work = [(sum(c.macs for c in kids) * times, sum(c.ops for c in kids) * times) for times, kids in parts]
            if op.op == "IF":  # one branch runs: count the larger
                layer.macs += max(m for m, _ in work)
                layer.ops += max(o for _, o in work)
            else:
                layer.macs += sum(m for m, _ in work)
                layer.ops += sum(o for _, o in work)
            notes.append(_control_flow_note(model, subgraph, op, called))
    return layers


def _control_flow_note(model: Model, subgraph: int, op: Operator, called: list[Call]) -> str:
    where = f"{op.op} at operator {op.index}" + (f" of subgraph {subgraph}" if subgraph else "")
    sizes = {c.subgraph: len(model.graph.subgraphs[c.subgraph].operators) for c in called}
    if op.op == "WHILE":
        body = next(c for c in called if c.role == "body")
        if body.runs is None:
            return (
                f"{where} runs subgraph {body.subgraph} ({sizes[body.subgraph]} operators) a number of times the "
                "graph does not show; its row and the totals count one iteration (figures per iteration)."
            )
        return (
            f"{where} runs subgraph {body.subgraph} ({sizes[body.subgraph]} operators) {body.runs} times per "
            "inference (its loop bound); its row and the totals include every iteration."
        )
    if op.op == "IF":
        names = " and ".join(f"subgraph {c.subgraph}" for c in called)
        return f"{where} runs one of {names}; its row and the totals count the larger branch."
    return f"{where} runs subgraph {called[0].subgraph} once, on the first inference; its row includes it."


def _reached_operators(model: Model, layers: list[Layer], nested: list[Layer]) -> list[tuple[Subgraph, Operator]]:
    """Every operator the analysis lists, with its subgraph."""
    return [
        (model.graph.subgraphs[layer.subgraph], model.graph.subgraphs[layer.subgraph].operators[layer.index])
        for layer in layers + nested
    ]


def analyze(model: Model, task: Task | None = None, *, measure: bool = True) -> Analysis:
    """Full analysis of a loaded model; with `measure`, TFLM prepares, runs and measures it."""
    task = task or null_task()
    analysis = graph_figures(model)
    task.progress(0.5, "Graph read")
    if measure:
        analysis.tflm = check_tflm(model, task.span(0.5, 1.0))
    task.progress(1.0, "Analysis done")
    return analysis
