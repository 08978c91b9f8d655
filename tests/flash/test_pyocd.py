"""The pyOCD flasher: pyOCD's Python API driven in a real child process, against the stand-in
`pyocd` package (tests/flash/standin_modules) whose signatures are checked against the real one."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from tests.flash.standin_api import STANDINS, shape, standin
from workbench.core.boards import Board
from workbench.core.errors import Cancelled, WorkbenchError
from workbench.flash.api import Flasher, FlashJob
from workbench.flash.api_failures import pyocd_failure
from workbench.flash.pyocd_worker import choose_probe
from workbench.plugins import discover, load_boards
from workbench.tasks import Task

PROBE = "066DFF555051897267183922"
OTHER = "0240000034544e45001b00038b"
FLASH_START = 0x08000000


@pytest.fixture(scope="module")
def flasher() -> Flasher:
    return discover(kinds=("flasher",)).flasher("pyocd")


@pytest.fixture(scope="module")
def nucleo() -> Board:
    return load_boards().get("nucleo_f746zg")


@pytest.fixture
def firmware(tmp_path: Path) -> Path:
    path = tmp_path / "app.bin"
    path.write_bytes(bytes(range(256)) * 40)  # 10 KB: three 4 KB reads to verify
    return path


@pytest.fixture
def pyocd_standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Children import the stand-in pyocd; returns (settings -> None, () -> recorded calls)."""
    monkeypatch.setenv("PYTHONPATH", str(STANDINS))
    calls = tmp_path / "calls.json"

    def configure(**settings: Any) -> None:
        settings.setdefault("probes", [{"unique_id": PROBE, "description": "NUCLEO-F746ZG"}])
        monkeypatch.setenv("PYOCD_STANDIN", json.dumps({"calls": str(calls), "boot_start": FLASH_START, **settings}))

    def recorded() -> list[dict[str, Any]]:
        return json.loads(calls.read_text()) if calls.exists() else []

    configure()
    return configure, recorded


def _calls(recorded: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [c for c in recorded if c["call"] == name]


# ------------------------------------------------------------ the stand-in cannot drift from pyOCD 0.46


def test_standin_offers_the_real_pyocd_api_with_the_same_signatures_and_exceptions() -> None:
    from pyocd.core import exceptions as real_exceptions
    from pyocd.core.helpers import ConnectHelper
    from pyocd.core.soc_target import SoCTarget
    from pyocd.flash.file_programmer import FileProgrammer

    fake = standin("pyocd")
    fake_helpers = importlib.import_module(f"{fake.__name__}.core.helpers")
    fake_session = importlib.import_module(f"{fake.__name__}.core.session")
    fake_programmer = importlib.import_module(f"{fake.__name__}.flash.file_programmer")
    fake_exceptions = importlib.import_module(f"{fake.__name__}.core.exceptions")
    for name in ("get_all_connected_probes", "session_with_chosen_probe"):
        assert shape(getattr(fake_helpers.ConnectHelper, name)) == shape(getattr(ConnectHelper, name)), name
    for name in ("__init__", "program"):
        assert shape(getattr(fake_programmer.FileProgrammer, name)) == shape(getattr(FileProgrammer, name)), name
    for name in ("read_memory_block8", "reset", "reset_and_halt"):
        assert shape(getattr(fake_session.SoCTarget, name)) == shape(getattr(SoCTarget, name)), name
    for name in (
        "TargetSupportError",
        "ProbeDisconnected",
        "TransferError",
        "TransferFaultError",
        "FlashProgramFailure",
    ):
        fake_bases = [c.__name__ for c in getattr(fake_exceptions, name).__mro__]
        assert fake_bases == [c.__name__ for c in getattr(real_exceptions, name).__mro__], name


# ------------------------------------------------------------ the dry run and what is refused before starting


def test_the_dry_run_gives_pyocds_own_command_line(flasher: Flasher, nucleo: Board, firmware: Path) -> None:
    steps = flasher.plan(FlashJob(firmware, nucleo, port=PROBE, address=0x08080000))
    assert steps[0].command == (
        "pyocd", "flash", "--target", "stm32f746zgtx", "--uid", PROBE, "--base-address", "0x8080000", str(firmware)
    )  # fmt: skip
    assert "keeping the rest of the flash" in steps[0].description
    assert "compare" in steps[1].description
    steps = flasher.plan(FlashJob(firmware, nucleo, verify=False))
    assert steps[0].command == ("pyocd", "flash", "--target", "stm32f746zgtx", str(firmware))
    assert "only debug probe attached" in steps[0].description and len(steps) == 2


def test_a_board_without_a_target_and_a_uf2_file_are_refused(
    flasher: Flasher, nucleo: Board, firmware: Path, tmp_path: Path
) -> None:
    no_target = Board(**{**nucleo.to_json(), "target": ""})
    with pytest.raises(WorkbenchError, match="STM32 Nucleo-F746ZG names no pyOCD target"):
        flasher.plan(FlashJob(firmware, no_target))
    uf2 = tmp_path / "app.uf2"
    uf2.write_bytes(b"\0" * 512)
    with pytest.raises(WorkbenchError, match=r"app.uf2: pyOCD writes .bin, .hex and .elf files, not .uf2"):
        flasher.flash(FlashJob(uf2, nucleo), Task())


def test_available_says_what_is_missing_how_to_install_it_and_that_probes_need_udev_rules(
    flasher: Flasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert flasher.available().ok
    monkeypatch.setitem(sys.modules, "pyocd", None)  # what importing a missing package looks like
    availability = flasher.available()
    assert not availability.ok and availability.missing == "the pyocd Python package is not installed"
    assert availability.hint.startswith("pip install pyocd") and "udev" in availability.hint


def test_the_probe_is_the_one_chosen_or_the_only_one_and_never_a_guess() -> None:
    one = types.SimpleNamespace(unique_id=PROBE, description="NUCLEO-F746ZG")
    two = types.SimpleNamespace(unique_id=OTHER, description="BBC micro:bit CMSIS-DAP")
    assert choose_probe([one], "", []) is one
    with pytest.raises(WorkbenchError) as several:
        choose_probe([two, one], "", [])
    assert (
        several.value.message
        == f"2 debug probes are attached: {OTHER} (BBC micro:bit CMSIS-DAP), {PROBE} (NUCLEO-F746ZG)"
    )
    with pytest.raises(WorkbenchError, match="no debug probe with the ID '1234' is attached"):
        choose_probe([], "1234", [])
    with pytest.raises(WorkbenchError, match="^no debug probe found$"):
        choose_probe([], "", [])


# ------------------------------------------------------------ flashing in a child, through the API


def test_flashing_drives_the_api_with_target_probe_erase_program_readback_and_reset(
    flasher: Flasher, nucleo: Board, firmware: Path, pyocd_standin: Any
) -> None:
    _, recorded = pyocd_standin
    progress: list[tuple[float, str]] = []
    lines: list[str] = []
    flasher.flash(
        FlashJob(firmware, nucleo), Task(on_progress=lambda f, s: progress.append((f, s)), on_log=lines.append)
    )

    calls = recorded()
    names = [c["call"] for c in calls]
    assert names.index("open") < names.index("reset_and_halt") < names.index("program") < names.index("reset")
    assert names[-1] == "close"
    first = calls[0]
    assert first == {"call": "get_all_connected_probes", "blocking": False, "unique_id": None}, (
        "never waits for a probe"
    )
    chosen = _calls(calls, "session_with_chosen_probe")[0]
    assert chosen["unique_id"] == PROBE and chosen["blocking"] is False
    session = _calls(calls, "Session")[0]
    assert session["options"] == {"target_override": "stm32f746zgtx", "auto_unlock": True, "keep_unwritten": False}
    programmer = _calls(calls, "FileProgrammer")[0]
    assert programmer["progress"] and programmer["chip_erase"] == "sector"
    program = _calls(calls, "program")[0]
    assert program["path"] == str(firmware) and program["file_format"] == "bin"
    assert program["kwargs"] == {"base_address": None}, "a whole .bin goes to the start of the flash"
    reads = [(c["addr"], c["size"]) for c in _calls(calls, "read_memory_block8")]
    assert reads == [(FLASH_START, 4096), (FLASH_START + 4096, 4096), (FLASH_START + 8192, 2048)]

    statuses = [s for _, s in progress]
    assert statuses.index("Erasing") < statuses.index("Writing") < statuses.index("Verifying")
    assert [f for f, _ in progress] == sorted(f for f, _ in progress)
    assert progress[-1] == (1.0, "Flashed app.bin to the stm32f746zgtx")
    assert lines[0] == f"pyocd flash --target stm32f746zgtx {firmware}"
    assert lines[-1] == f"Wrote app.bin (10,240 bytes) through probe {PROBE}"


def test_a_model_slot_goes_to_its_address_and_keeps_the_rest_of_the_flash(
    flasher: Flasher, nucleo: Board, firmware: Path, pyocd_standin: Any
) -> None:
    configure, recorded = pyocd_standin
    configure(probes=[{"unique_id": OTHER, "description": "DAPLink"}, {"unique_id": PROBE, "description": "STLink"}])
    flasher.flash(FlashJob(firmware, nucleo, port=PROBE[:8], address=0x08080000, verify=False), Task())
    calls = recorded()
    assert calls[0]["unique_id"] == PROBE[:8], "pyOCD matches part of an ID"
    assert _calls(calls, "session_with_chosen_probe")[0]["unique_id"] == PROBE
    assert _calls(calls, "Session")[0]["options"]["auto_unlock"] is False, "never mass-erases a locked chip"
    assert _calls(calls, "Session")[0]["options"]["keep_unwritten"] is True
    assert _calls(calls, "program")[0]["kwargs"] == {"base_address": 0x08080000}
    assert not _calls(calls, "read_memory_block8")


def test_several_probes_and_none_chosen_is_refused_without_pyocds_prompt(
    flasher: Flasher, nucleo: Board, firmware: Path, pyocd_standin: Any
) -> None:
    configure, recorded = pyocd_standin
    configure(probes=[{"unique_id": PROBE, "description": "STLink"}, {"unique_id": OTHER, "description": "DAPLink"}])
    with pytest.raises(WorkbenchError) as error:
        flasher.flash(FlashJob(firmware, nucleo), Task())
    assert error.value.message == f"2 debug probes are attached: {OTHER} (DAPLink), {PROBE} (STLink)"
    assert "--port" in error.value.hint
    assert [c["call"] for c in recorded()] == ["get_all_connected_probes"]


@pytest.mark.parametrize(
    ("fail", "message", "hint"),
    [
        ("permission", "a debug probe is attached but cannot be opened: permission denied", "udev"),
        (
            "target-unknown",
            "pyOCD has no support for the stm32f746zgtx target installed",
            "pyocd pack install stm32f746zgtx",
        ),
        ("no-ack", f"the debug probe {PROBE} could not reach the stm32f746zgtx chip", "powered"),
        ("corrupt", "the flash of the stm32f746zgtx differs from app.bin at 0x08000800 after writing", "Try again"),
    ],
)
def test_a_failure_in_the_child_is_one_sentence_with_pyocds_words_as_details(
    flasher: Flasher,
    nucleo: Board,
    firmware: Path,
    pyocd_standin: Any,
    fail: str,
    message: str,
    hint: str,
) -> None:
    configure, recorded = pyocd_standin
    configure(fail=fail)
    if fail == "permission" and not sys.platform.startswith("linux"):
        hint = "replug"  # udev rules are Linux's
    with pytest.raises(WorkbenchError) as error:
        flasher.flash(FlashJob(firmware, nucleo), Task())
    assert error.value.message == message
    assert hint in error.value.hint
    assert error.value.details and "\n" not in error.value.message
    assert "reset" not in [c["call"] for c in recorded()], "a failed flash never starts the old firmware"


def test_cancel_in_the_middle_of_programming_ends_the_child_and_raises_cancelled(
    flasher: Flasher, nucleo: Board, firmware: Path, pyocd_standin: Any
) -> None:
    configure, recorded = pyocd_standin
    configure(steps=300, delay_s=0.1)  # 60 s of erasing and writing unless the child is ended

    def cancel_once_erasing(fraction: float, status: str) -> None:
        if status == "Erasing" and fraction > 0.1:
            task.cancel()

    task = Task(on_progress=cancel_once_erasing)
    with pytest.raises(Cancelled):
        flasher.flash(FlashJob(firmware, nucleo), task)
    calls = [c["call"] for c in recorded()]
    assert "program" in calls and "program finished" not in calls and "reset" not in calls
    assert task.children == ()


# ------------------------------------------------------------ pyOCD's own exceptions


@pytest.mark.parametrize(
    ("make", "message", "hint"),
    [
        (
            lambda e: e.FlashProgramFailure("flash program page failure", address=0x08000000, result_code=1),
            "writing the flash of the stm32f746zgtx failed",
            "pyocd erase --chip -t stm32f746zgtx",
        ),
        (
            lambda e: e.ProbeDisconnected("Probe disconnected"),
            f"the debug probe {PROBE} was disconnected while flashing",
            "Plug it in",
        ),
        (
            lambda e: e.ProbeError("STLink error (9): Get IDCODE error"),
            f"the debug probe {PROBE} could not reach the stm32f746zgtx chip",
            "powered",
        ),
        (
            lambda e: e.ProbeError("probe already connected using SWD protocol"),
            f"the debug probe {PROBE} is in use by another program",
            "Close",
        ),
        (
            lambda e: ValueError("no memory region defined for address 0x20100000"),
            "app.bin: address 0x20100000 is outside the stm32f746zgtx's flash",
            "model_offset",
        ),
    ],
)
def test_pyocds_exceptions_become_one_plain_sentence(make: Any, message: str, hint: str) -> None:
    from pyocd.core import exceptions

    raised = make(exceptions)
    failure = pyocd_failure(raised, probe=PROBE, target="stm32f746zgtx", firmware="app.bin")
    assert failure.message == message
    assert hint in failure.hint
    assert str(raised) in failure.details


def test_a_hex_file_is_read_back_range_by_range(tmp_path: Path) -> None:
    from intelhex import IntelHex

    from workbench.flash.pyocd_worker import image_ranges

    hexfile = IntelHex()
    hexfile.puts(FLASH_START, b"vectors!")
    hexfile.puts(FLASH_START + 0x4000, b"model slot")
    path = tmp_path / "app.hex"
    hexfile.write_hex_file(str(path))
    assert image_ranges(path, "hex", 0) == [(FLASH_START, b"vectors!"), (FLASH_START + 0x4000, b"model slot")]
