"""`optimize --plan-arena`: a smaller arena on the same runtime, proved before it is written.

The workbench plans the arena's head itself (`core.arena_plan.better_plan`), writes the plan where
TFLM reads it (`offline_plan.with_offline_plan`), and then proves the result in TFLM's own
interpreter in a child process: the planned model must allocate the head the plan says and give
bit-identical outputs to the model as it was. A plan that fails either is never returned.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.arena_plan import better_plan, buffer_lifetimes, greedy_plan, live_bytes_peak
from workbench.core.child import run_in_child
from workbench.core.errors import WorkbenchError
from workbench.core.tflite_file import parse_tflite
from workbench.optimize.offline_plan import with_offline_plan
from workbench.tasks import Task, null_task

PROOF_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class ArenaPlanning:
    """A planned model and what it saves: heads (bytes) as TFLM plans them and as planned, the
    live-bytes lower bound, the smallest whole arena of each (measured by TFLM), how it was found."""

    tflite: bytes
    tflm_head: int
    planned_head: int
    lower_bound: int
    tflm_arena: int
    planned_arena: int
    method: str

    @property
    def saving_pct(self) -> float:
        return 100.0 * (self.tflm_head - self.planned_head) / self.tflm_head if self.tflm_head else 0.0

    @property
    def summary(self) -> str:
        if self.planned_head >= self.tflm_head:
            return (
                f"TFLM's own plan already needs only {self.tflm_head:,} bytes for the activations, the most "
                "that are ever alive at once: no plan can do better, so the model is left as TFLM plans it."
            )
        return (
            f"TFLM plans {self.tflm_head:,} bytes for the activations; the workbench plans {self.planned_head:,} "
            f"(-{self.saving_pct:.1f}%; at least {self.lower_bound:,} are alive at once). Whole arena "
            f"{self.tflm_arena:,} -> {self.planned_arena:,} bytes, same outputs bit for bit (checked in TFLM)."
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "tflm_head_bytes": self.tflm_head,
            "planned_head_bytes": self.planned_head,
            "lower_bound_bytes": self.lower_bound,
            "tflm_arena_bytes": self.tflm_arena,
            "planned_arena_bytes": self.planned_arena,
            "saving_pct": round(self.saving_pct, 2),
            "method": self.method,
        }


def plan_arena(data: bytes, task: Task | None = None) -> ArenaPlanning:
    """The model with a proved smaller arena plan, or as it was when TFLM's plan cannot be beaten."""
    task = task or null_task()
    graph = parse_tflite(data)
    if len(graph.subgraphs) > 1:
        raise WorkbenchError(
            "planning the arena of a model with several subgraphs (IF, WHILE) is not supported yet",
            "The model is left as TFLM plans it.",
        )
    buffers = buffer_lifetimes(graph)
    greedy, better = greedy_plan(buffers), better_plan(buffers)
    planned = with_offline_plan(data, buffers, better.offsets) if better.head_bytes < greedy.head_bytes else data
    with tempfile.TemporaryDirectory(prefix="workbench-arena-") as folder:
        original_path, planned_path = Path(folder) / "original.tflite", Path(folder) / "planned.tflite"
        original_path.write_bytes(data)
        planned_path.write_bytes(planned)
        proof = run_in_child(
            "workbench.core.tflm_worker:plan_proof_job",
            {
                "original": str(original_path),
                "planned": str(planned_path),
                "input_count": len(graph.main.inputs),
                "output_count": len(graph.main.outputs),
            },
            task,
            "Proving the arena plan in TFLM",
            timeout_s=PROOF_TIMEOUT_S,
        )
    heads, arenas = proof["heads"], proof["arenas"]
    if not proof["identical"] or heads["planned"] != min(better.head_bytes, greedy.head_bytes):
        raise WorkbenchError(
            "TFLM did not confirm the arena plan, so it was not written",
            f"head {heads['planned']:,} bytes against {better.head_bytes:,} planned; outputs "
            f"{'identical' if proof['identical'] else 'different'}.",
        )
    return ArenaPlanning(
        tflite=planned,
        tflm_head=heads["original"],
        planned_head=heads["planned"],
        lower_bound=live_bytes_peak(buffers),
        tflm_arena=arenas["original"],
        planned_arena=arenas["planned"],
        method=better.method if planned is not data else greedy.method,
    )
