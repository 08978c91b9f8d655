"""Progress from a flashing tool's own output: each tool's progress lines read into fractions.

A reader turns one output line into a `Reading` (a phase and how far into it) or None. The
formats are the tools' own, taken from their sources:

- dfu-util (dfu_file.c `dfu_progress_bar`): `"\\r%s\\t[%s] %3lld%% %12lld bytes"` with the phases
  "Erase   " and "Download", and `"%s done."` when a bar is full.
- BOSSA (bossac, Arduino SAMD/nRF52 cores): `"\\r[%s] %d%% (%d/%d pages)"` after the status lines
  "Erase flash", "Write N bytes to flash (P pages)" and "Verify N bytes of flash".
- avrdude: `"Writing | #### | 100% 0.54s"`; with its output in a pipe (as here) it prints the bar
  once, at the end of each phase, so only the phase ends are seen.
- esptool 4: `"Writing at 0x00010000... (14 %)"`; esptool 5: `"Writing at 0x00014000 [bar]  25.0% 16.00kB/64.00kB [0s]"`.
- picotool / rp2040load: `"Loading into Flash: [=====     ]  45%"`.
- OpenOCD's `program` (startup.tcl): the milestones `** Programming Started **`,
  `** Programming Finished **`, `** Verify Started **`, `** Verified OK **`, `** Resetting Target **`.
- arduino-cli compile has no progress of its own: "Sketch uses N bytes" ends it. Its upload prints
  the output of the core's upload tool (any of the above).
- PlatformIO `pio run -t upload`: build milestones ("Processing", "Compiling", "Linking",
  "Checking size", "Uploading"), then the upload tool's output. Its `RAM: [==  ] 15.2%` and
  `Flash: [===  ] 26.6%` lines are memory use, not progress, and are not read as progress.

`ProgressMeter` sends every line to `task.log` and maps each phase onto a span of the task's
progress (`spans`), so the erase, write and verify bars of one upload make one rising fraction.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from workbench.core.errors import Cancelled
from workbench.tasks import Task

ERASING, WRITING, VERIFYING, RESETTING = "Erasing", "Writing", "Verifying", "Resetting"
COMPILING, BUILDING, UPLOADING, INSTALLING = "Compiling", "Building", "Uploading", "Installing"


@dataclass(frozen=True)
class Reading:
    """What one line says: `phase` None means the phase already under way; `fraction` None
    means the phase just started (a milestone without a number)."""

    phase: str | None
    fraction: float | None = None
    status: str = ""


Reader = Callable[[str], Reading | None]
Spans = dict[str, tuple[float, float]]

# One upload: where each phase sits in 0..1 (tools without an erase or verify bar skip them).
UPLOAD_SPANS: Spans = {ERASING: (0.0, 0.15), WRITING: (0.15, 0.8), VERIFYING: (0.8, 0.97), RESETTING: (0.97, 1.0)}
DFU_SPANS: Spans = {ERASING: (0.0, 0.35), WRITING: (0.35, 1.0)}
OPENOCD_SPANS: Spans = {WRITING: (0.05, 0.7), VERIFYING: (0.7, 0.95), RESETTING: (0.95, 1.0)}
COMPILE_SPANS: Spans = {COMPILING: (0.0, 1.0)}


def scaled(spans: Spans, start: float, end: float) -> Spans:
    """`spans` squeezed into [start, end] (an upload that follows a build, say)."""
    width = end - start
    return {phase: (start + width * a, start + width * b) for phase, (a, b) in spans.items()}


PLATFORMIO_SPANS: Spans = {INSTALLING: (0.0, 0.02), BUILDING: (0.02, 0.5), UPLOADING: (0.5, 0.5)} | scaled(
    UPLOAD_SPANS, 0.5, 1.0
)

_DFU_BAR = re.compile(r"^(Erase|Download|Upload)\s*\[[= ]*\]\s+(\d+)%\s+\d+ bytes")
_DFU_DONE = re.compile(r"^(Erase|Download)\s+done\.")
_BOSSA_BAR = re.compile(r"^\[[= ]*\]\s*(\d+)% \((\d+)/(\d+) pages\)")
_BOSSA_STATUS = {"Erase flash": ERASING, "Write ": WRITING, "Verify ": VERIFYING}
_AVRDUDE_BAR = re.compile(r"^(Reading|Writing|Erasing) \| [# ]*\| +(\d+)%")
_ESPTOOL4 = re.compile(r"^Writing at 0x[0-9a-fA-F]+\.\.\. \((\d+) ?%\)")
_ESPTOOL5 = re.compile(r"^Writing at 0x[0-9a-fA-F]+ .*?(\d+(?:\.\d+)?)%")
_PICOTOOL = re.compile(r"^(Loading into Flash|Erasing|Verifying Flash|Verifying):\s*\[[=> ]*\]\s+(\d+)%")
_OPENOCD = {
    "** Programming Started **": Reading(WRITING, 0.0, "Writing"),
    "** Programming Finished **": Reading(WRITING, 1.0, "Written"),
    "** Verify Started **": Reading(VERIFYING, 0.0, "Verifying"),
    "** Verified OK **": Reading(VERIFYING, 1.0, "Verified"),
    "** Resetting Target **": Reading(RESETTING, 1.0, "Resetting the board"),
}
_DFU_PHASES = {"Erase": ERASING, "Download": WRITING, "Upload": VERIFYING}
_AVRDUDE_PHASES = {"Reading": VERIFYING, "Writing": WRITING, "Erasing": ERASING}
_PICOTOOL_PHASES = {
    "Loading into Flash": WRITING,
    "Erasing": ERASING,
    "Verifying Flash": VERIFYING,
    "Verifying": VERIFYING,
}


def _percent(text: str) -> float:
    return min(1.0, max(0.0, float(text) / 100.0))


def dfu_util_reading(line: str) -> Reading | None:
    """dfu-util's erase and download bars."""
    stripped = line.strip()
    if match := _DFU_BAR.match(stripped):
        return Reading(_DFU_PHASES[match[1]], _percent(match[2]))
    if match := _DFU_DONE.match(stripped):
        return Reading(_DFU_PHASES[match[1]], 1.0)
    return None


def bossac_reading(line: str) -> Reading | None:
    """BOSSA's status lines (which phase) and page bars (how far into it)."""
    stripped = line.strip()
    if match := _BOSSA_BAR.match(stripped):
        return Reading(None, int(match[2]) / max(1, int(match[3])))
    for start, phase in _BOSSA_STATUS.items():
        if stripped.startswith(start) and ("flash" in stripped or phase == ERASING):
            return Reading(phase, 0.0)
    return None


def avrdude_reading(line: str) -> Reading | None:
    """avrdude's bars (its first 'Reading' is the chip signature, which ProgressMeter skips)."""
    match = _AVRDUDE_BAR.match(line.strip())
    return Reading(_AVRDUDE_PHASES[match[1]], _percent(match[2])) if match else None


def esptool_reading(line: str) -> Reading | None:
    """esptool 4 and 5 'Writing at 0x...' lines, its erase and its hash check."""
    stripped = line.strip()
    if match := _ESPTOOL4.match(stripped) or _ESPTOOL5.match(stripped):
        return Reading(WRITING, _percent(match[1]))
    if stripped.startswith(("Erasing flash", "Flash will be erased")):
        return Reading(ERASING, 0.0)
    if stripped.startswith("Hash of data verified"):
        return Reading(VERIFYING, 1.0)
    return None


def picotool_reading(line: str) -> Reading | None:
    """picotool's (and Arduino's rp2040load's) 'Loading into Flash:' bars."""
    match = _PICOTOOL.match(line.strip())
    return Reading(_PICOTOOL_PHASES[match[1]], _percent(match[2])) if match else None


def openocd_reading(line: str) -> Reading | None:
    """OpenOCD's `program` milestones."""
    return _OPENOCD.get(line.strip())


_UPLOADERS: tuple[Reader, ...] = (
    dfu_util_reading,
    bossac_reading,
    avrdude_reading,
    esptool_reading,
    picotool_reading,
    openocd_reading,
)


def uploader_reading(line: str) -> Reading | None:
    """Any upload tool's progress (for arduino-cli and PlatformIO, which run the board's own tool)."""
    for reader in _UPLOADERS:
        reading = reader(line)
        if reading is not None:
            return reading
    return None


def arduino_compile_reading(line: str) -> Reading | None:
    """arduino-cli compile: done when it reports the sketch's size."""
    if line.startswith("Sketch uses "):
        return Reading(COMPILING, 1.0, "Compiled")
    return None


# Prefixes of PlatformIO's build lines ("Compiling .pio/build/<env>/src/main.cpp.o"...) and how far
# into the build each one is; "Building in release mode" (early) is not "Building .pio/...".
_PIO_BUILD = (
    ("Processing ", 0.0, "Building"),
    ("Compiling .pio", 0.1, "Compiling"),
    ("Archiving .pio", 0.5, "Archiving"),
    ("Indexing .pio", 0.5, "Archiving"),
    ("Linking .pio", 0.8, "Linking"),
    ("Building .pio", 0.9, "Building the firmware image"),
    ("Checking size .pio", 0.95, "Checking size"),
    ("Configuring upload protocol", 1.0, "Configuring the upload"),
)


def platformio_reading(line: str) -> Reading | None:
    """`pio run -t upload`: its build milestones, package installs, then the upload tool's progress."""
    stripped = line.strip()
    for start, fraction, status in _PIO_BUILD:
        if stripped.startswith(start):
            return Reading(BUILDING, fraction, status)
    if re.match(r"^(Tool|Platform|Library) Manager: Installing ", stripped):
        return Reading(INSTALLING, None, stripped.split(": ", 1)[1])
    if stripped.startswith("Uploading "):
        return Reading(UPLOADING, None, "Uploading")
    return uploader_reading(stripped)


class ProgressMeter:
    """The `on_line` of one tool run: logs every line and moves `task` as the tool's progress says.

    Each phase fills its span of `spans`; a line without a phase continues the current one. A
    verify bar before any write bar (avrdude reads the chip's signature first) is not progress.
    Cancellation is left to the task's owner: a progress report after cancel is dropped here.
    """

    def __init__(self, task: Task, reader: Reader, spans: Spans) -> None:
        self.task = task
        self.reader = reader
        self.spans = spans
        self.phase: str | None = None
        self.seen: set[str] = set()

    def __call__(self, line: str) -> None:
        self.task.log(line)
        reading = self.reader(line)
        if reading is None:
            return
        phase = reading.phase or self.phase
        if phase is None or phase not in self.spans:
            return
        if phase == VERIFYING and WRITING in self.spans and WRITING not in self.seen:
            return
        self.phase = phase
        self.seen.add(phase)
        start, end = self.spans[phase]
        fraction = start + (end - start) * (reading.fraction or 0.0)
        status = reading.status or phase
        if reading.fraction is not None and not reading.status:
            status = f"{phase} {reading.fraction:.0%}"
        with contextlib.suppress(Cancelled):
            self.task.progress(fraction, status)
