"""The esptool flasher: esptool's Python API driven in a real child process, against the stand-in
`esptool` package (tests/flash/standin_modules) whose signatures are checked against the real one."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import struct
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from tests.flash.standin_api import STANDINS, shape, standin
from workbench.core.boards import Board
from workbench.core.child import child_env
from workbench.core.errors import Cancelled, WorkbenchError
from workbench.flash.api import Flasher, FlashJob
from workbench.flash.api_failures import esptool_failure
from workbench.flash.esptool_worker import APP, BOOTLOADER, PADDED, image_kind
from workbench.plugins import discover, load_boards
from workbench.tasks import Task

PORT = "/dev/ttyFAKE0"


def app_image(size: int = 100_000) -> bytes:
    """An ESP-IDF application image: 0xE9 header, one segment opening with esp_app_desc_t's magic."""
    header = bytes([0xE9, 1, 2, 0x20]) + bytes(20)
    segment = struct.pack("<II", 0x3C000020, 64) + struct.pack("<I", 0xABCD5432) + bytes(60)
    return (header + segment).ljust(size, b"\x11")


def bootloader_image(size: int = 20_000) -> bytes:
    """A second-stage bootloader image (no application description)."""
    header = bytes([0xE9, 1, 2, 0x20]) + bytes(20)
    segment = struct.pack("<II", 0x3FFF0000, 64) + struct.pack("<I", 0x50) + bytes(60)
    return (header + segment).ljust(size, b"\x22")


@pytest.fixture(scope="module")
def flasher() -> Flasher:
    return discover(kinds=("flasher",)).flasher("esptool")


@pytest.fixture(scope="module")
def boards() -> dict[str, Board]:
    return load_boards().boards


@pytest.fixture
def esptool_standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Children import the stand-in esptool; returns (settings -> None, () -> recorded calls)."""
    monkeypatch.setenv("PYTHONPATH", str(STANDINS))
    calls = tmp_path / "calls.json"

    def configure(**settings: Any) -> None:
        monkeypatch.setenv("ESPTOOL_STANDIN", json.dumps({"calls": str(calls), **settings}))

    def recorded() -> list[dict[str, Any]]:
        return json.loads(calls.read_text()) if calls.exists() else []

    configure()
    return configure, recorded


def _firmware(tmp_path: Path, data: bytes, name: str = "app.bin") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# ------------------------------------------------------------ the stand-in cannot drift from esptool 5.6


def test_standin_offers_the_real_esptool_api_with_the_same_signatures_and_exceptions() -> None:
    real_cmds = importlib.import_module("esptool.cmds")
    real_logger = importlib.import_module("esptool.logger")
    real_util = importlib.import_module("esptool.util")
    fake = standin("esptool")
    fake_cmds = importlib.import_module(f"{fake.__name__}.cmds")
    fake_logger = importlib.import_module(f"{fake.__name__}.logger")
    fake_util = importlib.import_module(f"{fake.__name__}.util")
    for name in ("detect_chip", "run_stub", "attach_flash", "write_flash", "verify_flash", "reset_chip"):
        assert shape(getattr(fake_cmds, name)) == shape(getattr(real_cmds, name)), name
    assert fake_logger.TemplateLogger.__abstractmethods__ == real_logger.TemplateLogger.__abstractmethods__
    for name in fake_logger.TemplateLogger.__abstractmethods__:
        assert shape(getattr(fake_logger.TemplateLogger, name)) == shape(getattr(real_logger.TemplateLogger, name))
    assert shape(fake_logger.EsptoolLogger.set_logger) == shape(real_logger.EsptoolLogger.set_logger)
    for name in ("FatalError", "NotImplementedInROMError"):
        real_bases = {c.__name__ for c in getattr(real_util, name).__mro__}
        assert {c.__name__ for c in getattr(fake_util, name).__mro__} <= real_bases, name


def test_the_project_root_on_a_childs_path_does_not_shadow_the_standins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(STANDINS))
    root, *rest = child_env()["PYTHONPATH"].split(os.pathsep)
    assert rest == [str(STANDINS)]
    assert not any((Path(root) / name).exists() for name in ("esptool", "esptool.py", "pyocd", "pyocd.py"))


# ------------------------------------------------------------ where a .bin goes and what the dry run says


def test_a_bin_is_placed_by_what_it_holds() -> None:
    assert image_kind(app_image(), "esp32s3") == APP
    assert image_kind(bootloader_image(), "esp32") == BOOTLOADER
    padded = b"\xff" * 0x1000 + bootloader_image(0x20000)
    assert image_kind(padded, "esp32") == PADDED
    assert image_kind(padded, "") == PADDED, "the chip unknown: any known bootloader offset"
    with pytest.raises(WorkbenchError, match="not an ESP firmware image"):
        image_kind(b"\x00" * 4096, "esp32s3")


def test_the_dry_run_gives_esptools_own_command_lines_and_addresses(
    flasher: Flasher, boards: dict[str, Board], tmp_path: Path
) -> None:
    app = _firmware(tmp_path, app_image())
    steps = flasher.plan(FlashJob(app, boards["esp32s3_devkitc"], port=PORT))
    assert steps[0].command == (
        "esptool", "--chip", "esp32s3", "--port", PORT, "--baud", "460800", "write-flash", "0x10000", str(app)
    )  # fmt: skip
    assert steps[1].command[-3:] == ("verify-flash", "0x10000", str(app))
    assert "reset" in steps[-1].description.lower()
    merged = _firmware(tmp_path, bootloader_image(0x30000), "merged.bin")
    slot = FlashJob(merged, boards["esp32_devkitc"], address=0x300000, verify=False)
    steps = flasher.plan(slot)
    assert [s.command[-3:] for s in steps if s.command] == [("write-flash", "0x300000", str(merged))]
    assert "--port" not in steps[0].command, "no port: found when flashing"
    assert "0x1000" in str(flasher.plan(FlashJob(merged, boards["esp32_devkitc"], port=PORT))[0])


def test_files_esptool_cannot_write_are_refused_before_anything_starts(
    flasher: Flasher, boards: dict[str, Board], tmp_path: Path
) -> None:
    board = boards["esp32c3_devkitm"]
    with pytest.raises(WorkbenchError, match=r"app.uf2: esptool writes .bin images, not .uf2"):
        flasher.flash(FlashJob(_firmware(tmp_path, app_image(), "app.uf2"), board, port=PORT), Task())
    huge = _firmware(tmp_path, app_image(board.flash_bytes), "huge.bin")
    with pytest.raises(WorkbenchError, match=r"huge.bin \(4096.0 KB at 0x10000\) does not fit the 4096.0 KB flash"):
        flasher.flash(FlashJob(huge, board, port=PORT), Task())


def test_without_a_port_the_one_serial_port_with_the_boards_usb_id_is_used(
    flasher: Flasher, boards: dict[str, Board], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from serial.tools import list_ports

    board = boards["xiao_esp32s3"]  # 303A:1001
    ports = [types.SimpleNamespace(device="/dev/ttyS0", vid=None, pid=None)]
    monkeypatch.setattr(list_ports, "comports", lambda: ports)
    app = FlashJob(_firmware(tmp_path, app_image()), board)
    with pytest.raises(WorkbenchError, match="no serial port of a Seeed XIAO ESP32S3 found"):
        flasher.flash(app, Task())
    ports += [types.SimpleNamespace(device=f"/dev/ttyACM{i}", vid=0x303A, pid=0x1001) for i in range(2)]
    with pytest.raises(
        WorkbenchError, match="2 serial ports could be the Seeed XIAO ESP32S3: /dev/ttyACM0, /dev/ttyACM1"
    ):
        flasher.flash(app, Task())


def test_available_says_what_is_missing_and_how_to_install_it(
    flasher: Flasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert flasher.available().ok
    monkeypatch.setitem(sys.modules, "esptool", None)  # what importing a missing package looks like
    availability = flasher.available()
    assert not availability.ok
    assert availability.missing == "the esptool Python package is not installed"
    assert availability.hint == "pip install esptool"


# ------------------------------------------------------------ flashing in a child, through the API


def test_flashing_drives_the_api_in_order_with_port_chip_address_verify_and_reset(
    flasher: Flasher, boards: dict[str, Board], tmp_path: Path, esptool_standin: Any
) -> None:
    configure, recorded = esptool_standin
    configure(chip="ESP32-S3", blocks=5)
    app = _firmware(tmp_path, app_image())
    progress: list[tuple[float, str]] = []
    lines: list[str] = []
    task = Task(on_progress=lambda f, s: progress.append((f, s)), on_log=lines.append)
    flasher.flash(FlashJob(app, boards["esp32s3_devkitc"], port=PORT), task)

    calls = recorded()
    assert [c["call"] for c in calls] == [
        "detect_chip", "run_stub", "change_baud", "attach_flash", "write_flash", "write_flash finished",
        "verify_flash", "reset_chip", "close",
    ]  # fmt: skip
    assert calls[0]["port"] == PORT and calls[0]["baud"] == 115200
    assert calls[2]["baud"] == 460800
    assert calls[4]["addr_data"] == [[0x10000, str(app)]] and calls[4]["stub"], "written by the stub"
    assert calls[6]["addr_data"] == [[0x10000, str(app)]]
    assert calls[7]["reset_mode"] == "hard-reset"

    writing = [f for f, s in progress if s.startswith("Writing at")]
    assert len(writing) == 5 and writing == sorted(writing) and 0.1 < writing[0] < writing[-1] <= 0.9
    assert progress[-1] == (1.0, "Flashed app.bin to the ESP32-S3")
    assert lines[0].startswith("esptool --chip esp32s3 --port /dev/ttyFAKE0")
    assert "Detecting chip type... ESP32-S3" in lines, "esptool's pieces of lines are joined"
    assert "Hash of data verified." in lines
    assert lines[-1] == f"Wrote {len(app_image()):,} bytes at 0x10000 of the ESP32-S3 on {PORT}"


def test_a_model_slot_writes_only_its_region_and_verify_can_be_left_out(
    flasher: Flasher, boards: dict[str, Board], tmp_path: Path, esptool_standin: Any
) -> None:
    _, recorded = esptool_standin
    slot = _firmware(tmp_path, b"\x00" * 5000, "model.slot.bin")  # no ESP image: a slot is data
    flasher.flash(FlashJob(slot, boards["esp32s3_devkitc"], port=PORT, address=0x310000, verify=False), Task())
    calls = recorded()
    assert [c["addr_data"] for c in calls if c["call"] == "write_flash"] == [[[0x310000, str(slot)]]]
    assert "verify_flash" not in [c["call"] for c in calls]
    assert calls[-2]["call"] == "reset_chip"


def test_an_esp32_image_starting_with_its_bootloader_goes_to_the_offset_esptool_gives_for_the_chip(
    flasher: Flasher, boards: dict[str, Board], tmp_path: Path, esptool_standin: Any
) -> None:
    configure, recorded = esptool_standin
    configure(chip="ESP32")
    merged = _firmware(tmp_path, bootloader_image(0x30000), "merged.bin")
    flasher.flash(FlashJob(merged, boards["esp32_devkitc"], port=PORT, verify=False), Task())
    assert [c["addr_data"] for c in recorded() if c["call"] == "write_flash"] == [[[0x1000, str(merged)]]]


def test_a_different_chip_on_the_port_is_refused_before_anything_is_written(
    flasher: Flasher, boards: dict[str, Board], tmp_path: Path, esptool_standin: Any
) -> None:
    configure, recorded = esptool_standin
    configure(chip="ESP32-C3")
    with pytest.raises(WorkbenchError) as error:
        flasher.flash(FlashJob(_firmware(tmp_path, app_image()), boards["esp32s3_devkitc"], port=PORT), Task())
    assert error.value.message == f"{PORT} has an ESP32-C3, not the ESP32-S3 of the ESP32-S3-DevKitC-1"
    assert [c["call"] for c in recorded()] == ["detect_chip", "close"]


@pytest.mark.parametrize(
    ("fail", "message", "hint", "raw"),
    [
        ("open-permission", f"{PORT}: permission denied", "dialout", "[Errno 13] Permission denied"),
        ("no-answer", f"no ESP32-S3 answered on {PORT}", "Hold BOOT and press RESET", "No serial data received"),
        ("lost", f"the connection to {PORT} was lost while flashing", "USB cable", "write failed: [Errno 5]"),
    ],
)
def test_a_failure_in_the_child_is_one_sentence_with_esptools_words_as_details(
    flasher: Flasher,
    boards: dict[str, Board],
    tmp_path: Path,
    esptool_standin: Any,
    fail: str,
    message: str,
    hint: str,
    raw: str,
) -> None:
    configure, recorded = esptool_standin
    configure(fail=fail, blocks=4)
    if fail == "open-permission" and not sys.platform.startswith("linux"):
        hint = "may open the port"
    with pytest.raises(WorkbenchError) as error:
        flasher.flash(FlashJob(_firmware(tmp_path, app_image()), boards["esp32s3_devkitc"], port=PORT), Task())
    assert error.value.message == message
    assert hint in error.value.hint
    assert raw in error.value.details and raw not in error.value.message
    assert "reset_chip" not in [c["call"] for c in recorded()]


def test_cancel_in_the_middle_of_writing_ends_the_child_and_raises_cancelled(
    flasher: Flasher, boards: dict[str, Board], tmp_path: Path, esptool_standin: Any
) -> None:
    configure, recorded = esptool_standin
    configure(blocks=300, delay_s=0.1)  # 30 s of writing unless the child is ended

    def cancel_once_writing(fraction: float, status: str) -> None:
        if status.startswith("Writing at"):
            task.cancel()

    task = Task(on_progress=cancel_once_writing)
    with pytest.raises(Cancelled):
        flasher.flash(FlashJob(_firmware(tmp_path, app_image()), boards["esp32s3_devkitc"], port=PORT), task)
    calls = [c["call"] for c in recorded()]
    assert "write_flash" in calls and "write_flash finished" not in calls and "reset_chip" not in calls
    assert task.children == ()


# ------------------------------------------------------------ esptool's and pyserial's own exceptions


def _real_fatal(text: str) -> BaseException:
    from esptool.util import FatalError

    return FatalError(text)


def _real_serial(errno: int, text: str) -> BaseException:
    from serial import SerialException

    return SerialException(errno, text)


@pytest.mark.parametrize(
    ("error", "message", "hint"),
    [
        (
            lambda: _real_fatal(
                f"Could not open {PORT}, the port is busy or doesn't exist.\n([Errno 11] Could not exclusively "
                f"lock port {PORT}: [Errno 11] Resource temporarily unavailable)\n"
            ),
            f"{PORT} is in use by another program",
            "Close the serial monitor",
        ),
        (
            lambda: _real_fatal(
                f"Could not open {PORT}, the port is busy or doesn't exist.\n([Errno 2] could not open port "
                f"{PORT}: [Errno 2] No such file or directory: '{PORT}')\n\nHint: Check if the port is correct"
            ),
            f"{PORT}: no such serial port",
            "Plug the board in",
        ),
        (
            lambda: _real_serial(13, f"could not open port {PORT}: [Errno 13] Permission denied: '{PORT}'"),
            f"{PORT}: permission denied",
            "",
        ),
        (
            lambda: _real_fatal(
                "Failed to connect to ESP32-S3: Wrong boot mode detected (0x13)! The chip needs to be in download mode."
            ),
            f"no ESP32-S3 answered on {PORT}",
            "Hold BOOT and press RESET to enter the bootloader",
        ),
        (
            lambda: _real_fatal("MD5 of file does not match data in flash!"),
            f"the flash on {PORT} does not hold app.bin after writing",
            "Try again",
        ),
        (
            lambda: _real_fatal("This chip is ESP32, not ESP32-S3. Wrong chip argument?"),
            f"{PORT} has an ESP32, not the ESP32-S3 this board has",
            "",
        ),
        (
            lambda: _real_fatal("Something esptool never said before."),
            f"esptool could not flash {PORT}: Something esptool never said before.",
            "details",
        ),
    ],
)
def test_esptools_exceptions_become_one_plain_sentence(error: Any, message: str, hint: str) -> None:
    raised = error()
    failure = esptool_failure(raised, port=PORT, chip="ESP32-S3", firmware="app.bin")
    assert failure.message == message
    assert hint in failure.hint
    assert "\n" not in failure.message and str(raised).splitlines()[0] in failure.details


def test_the_workers_logger_takes_real_esptools_lines_and_progress_bar(capfd: pytest.CaptureFixture[str]) -> None:
    """esptool 5.6 wraps a TemplateLogger for esp-pylib; its progress context must reach ours."""
    from esp_pylib.logger import EspLog
    from esptool.logger import log

    from workbench.core.process import parse_progress
    from workbench.flash.esptool_worker import LineJoiner, esptool_logger

    before = EspLog.instance
    lines = LineJoiner()
    try:
        log.set_logger(esptool_logger(lines, [0.1, 0.9]))
        log.print("Connecting...", end="")
        log.print(".", end="")
        log.note("Failed to get VID/PID")
        with log.progress(total=200, unit="B") as progress:
            progress.update(advance=100, description="Writing at 0x00010064")
            progress.update(advance=100, description="Writing at 0x000100c8")
    finally:
        EspLog.instance = before
    out, err = capfd.readouterr()
    assert out.splitlines() == ["Connecting....", "Note: Failed to get VID/PID"]
    progress_lines = [parse_progress(line) for line in err.split("\n") if line]  # splitlines() splits at \x1e
    assert progress_lines == [(0.5, "Writing at 0x00010064"), (0.9, "Writing at 0x000100c8")]
