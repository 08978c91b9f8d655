"""fit(): whether a model fits a board and runs there - the one verdict every face shows.

The thresholds and the wording live here, not in pages or the CLI: the Inspect and Optimize
gauges, the `analyze` report and Deploy all read the same `Fit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.core.analysis import Analysis
from workbench.core.arena import recommended_arena
from workbench.core.boards import Board
from workbench.units import kb

COMFORTABLE_PCT = 75.0  # above this share of flash or RAM, little is left for the firmware itself

# Verdict levels, from best to worst; pages map them to colours.
GOOD, TIGHT, BAD, UNKNOWN = "good", "tight", "bad", "unknown"


def usage_level(percent: float | None) -> str:
    """good up to COMFORTABLE_PCT, tight up to 100%, bad above; unknown without a figure."""
    if percent is None:
        return UNKNOWN
    return GOOD if percent <= COMFORTABLE_PCT else TIGHT if percent <= 100.0 else BAD


@dataclass
class Fit:
    """How much of a board's flash and RAM the model takes (model bytes, and the tensor arena the
    firmware reserves for it), and whether its runtime there (TFLM) can run it at all."""

    board: str
    board_name: str
    flash_bytes: int
    flash_capacity_bytes: int
    ram_bytes: int | None
    ram_capacity_bytes: int
    runs: bool | None = None  # TFLM runs it: None while unknown (not measured yet)
    runs_problem: str = ""  # why it does not run, in a few words

    @property
    def flash_used_pct(self) -> float:
        return round(100.0 * self.flash_bytes / self.flash_capacity_bytes, 2)

    @property
    def ram_used_pct(self) -> float | None:
        if self.ram_bytes is None:
            return None
        return round(100.0 * self.ram_bytes / self.ram_capacity_bytes, 2)

    @property
    def flash_ok(self) -> bool:
        return self.flash_bytes <= self.flash_capacity_bytes

    @property
    def ram_ok(self) -> bool | None:
        return None if self.ram_bytes is None else self.ram_bytes <= self.ram_capacity_bytes

    @property
    def flash_headroom_bytes(self) -> int:
        return self.flash_capacity_bytes - self.flash_bytes

    @property
    def ram_headroom_bytes(self) -> int | None:
        return None if self.ram_bytes is None else self.ram_capacity_bytes - self.ram_bytes

    @property
    def fits(self) -> bool:
        """It fits and runs: flash and RAM within the board's, and the runtime can run it."""
        return self.flash_ok and self.ram_ok is True and self.runs is not False

    @property
    def flash_level(self) -> str:
        return usage_level(self.flash_used_pct)

    @property
    def ram_level(self) -> str:
        return usage_level(self.ram_used_pct)

    @property
    def level(self) -> str:
        """The whole verdict as one level: bad if anything fails, unknown while RAM or running is
        unknown, tight when either memory is above the comfortable share, else good."""
        if not self.flash_ok or self.ram_ok is False or self.runs is False:
            return BAD
        if self.ram_ok is None or self.runs is None:
            return UNKNOWN
        return TIGHT if TIGHT in (self.flash_level, self.ram_level) else GOOD

    @property
    def verdict(self) -> str:
        """One line: 'Fits on Arduino Nano 33 BLE Sense', 'Does not run on ... (TFLM: ...)'."""
        on = f"on {self.board_name}"
        if self.runs is False:
            return f"Does not run {on}" + (f": {self.runs_problem}" if self.runs_problem else "")
        if not self.flash_ok or self.ram_ok is False:
            short = [what for what, ok in (("flash", self.flash_ok), ("RAM", self.ram_ok is not False)) if not ok]
            return f"Does not fit {on}: not enough {' or '.join(short)}"
        if self.ram_ok is None:
            return f"Flash fits {on}; RAM unknown until TFLM measures the arena"
        if self.runs is None:
            return f"Fits {on}; not yet checked that TFLM runs it"
        if self.level == TIGHT:
            return f"Fits {on}, but tightly"
        return f"Fits {on}"

    @property
    def headroom(self) -> str:
        """What is left for the firmware: '731.3 KB flash and 180.4 KB RAM left'."""
        room = f"{kb(self.flash_headroom_bytes)} flash"
        if self.ram_headroom_bytes is not None:
            room += f" and {kb(self.ram_headroom_bytes)} RAM"
        return room + " left"

    def to_json(self) -> dict[str, Any]:
        return {
            "board": self.board,
            "fits": self.fits,
            "level": self.level,
            "verdict": self.verdict,
            "runs": self.runs,
            "flash_ok": self.flash_ok,
            "ram_ok": self.ram_ok,
            "flash_used_pct": self.flash_used_pct,
            "ram_used_pct": self.ram_used_pct,
            "flash_bytes": self.flash_bytes,
            "flash_capacity_bytes": self.flash_capacity_bytes,
            "flash_headroom_bytes": self.flash_headroom_bytes,
            "ram_bytes": self.ram_bytes,
            "ram_capacity_bytes": self.ram_capacity_bytes,
            "ram_headroom_bytes": self.ram_headroom_bytes,
        }


def fit(flash_bytes: int, arena_bytes: int | None, board: Board, runs: bool | None = None, problem: str = "") -> Fit:
    """Model flash (the .tflite size) against board flash; against board RAM the arena firmware
    reserves for the measured `arena_bytes` (core.arena.recommended_arena: what kTensorArenaSize
    is); `runs`: whether TFLM runs the model (None while unknown), `problem` why not."""
    reserved = recommended_arena(arena_bytes) if arena_bytes else None
    return Fit(board.id, board.name, flash_bytes, board.flash_bytes, reserved, board.ram_bytes, runs, problem)


def analysis_fit(analysis: Analysis, board: Board) -> Fit:
    """The fit of an analysed model: its size, its measured arena, and whether TFLM runs it."""
    return fit(analysis.size_bytes, analysis.arena_bytes, board, *analysis.runs_on_tflm)
