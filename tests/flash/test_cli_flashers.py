"""The command-line flashers (arduino-cli, PlatformIO, dfu-util, OpenOCD) run as real processes.

Stand-ins for the four tools (tests/flash/standins) are put on the PATH: they record their
command line, print progress and errors exactly as the real tools do, and can hang. Each test
checks what a person would see: the exact command, rising progress, the tool's lines in the
task's log, cancel ending the tool and what it started, and failures in one sentence.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import shutil
import sys
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from workbench.core.errors import Cancelled, WorkbenchError
from workbench.flash.api import Flasher, FlashJob
from workbench.flash.tool_progress import (
    PLATFORMIO_SPANS,
    ProgressMeter,
    avrdude_reading,
    esptool_reading,
    picotool_reading,
    platformio_reading,
    uploader_reading,
)
from workbench.plugins import discover, load_boards
from workbench.tasks import Task

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the stand-in tools are scripts with a shebang")

STANDINS = Path(__file__).resolve().parent / "standins"
TOOLS = {"arduino-cli": "arduino_cli.py", "pio": "pio.py", "dfu-util": "dfu_util.py", "openocd": "openocd.py"}


class Tools:
    """The stand-ins on the PATH, what they were asked to do, and how to make them fail or hang."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bin = root / "bin"
        self.log = root / "argv.jsonl"
        self.pid_file = root / "standin.pid"
        self.monkeypatch = monkeypatch
        self.bin.mkdir()
        shutil.copy(STANDINS / "standin_common.py", self.bin)
        for name, template in TOOLS.items():
            write_tool(self.bin / name, STANDINS / template)
        monkeypatch.setenv("PATH", str(self.bin))
        monkeypatch.setenv("HOME", str(root / "user"))  # no ~/.platformio of the person running the tests
        monkeypatch.setenv("STANDIN_LOG", str(self.log))
        monkeypatch.setenv("STANDIN_PID", str(self.pid_file))
        monkeypatch.delenv("STANDIN_FAIL", raising=False)
        monkeypatch.delenv("STANDIN_HANG", raising=False)

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def fail(self, scenario: str) -> None:
        self.monkeypatch.setenv("STANDIN_FAIL", scenario)

    def hang(self) -> None:
        self.monkeypatch.setenv("STANDIN_HANG", "1")


def write_tool(path: Path, template: Path) -> None:
    path.write_text(f"#!{sys.executable}\n" + template.read_text())
    path.chmod(0o755)


class Watch:
    """A task whose progress and log lines are kept."""

    def __init__(self) -> None:
        self.fractions: list[float] = []
        self.statuses: list[str] = []
        self.lines: list[str] = []
        self.task = Task(on_progress=self._progress, on_log=self.lines.append)

    def _progress(self, fraction: float, status: str) -> None:
        self.fractions.append(fraction)
        self.statuses.append(status)

    def assert_rising(self, at_least: int) -> None:
        assert self.fractions == sorted(self.fractions), self.fractions
        assert len(set(self.fractions)) >= at_least, self.fractions
        assert self.fractions[-1] == 1.0


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Tools:
    return Tools(tmp_path, monkeypatch)


@pytest.fixture(scope="module")
def boards() -> Any:
    return load_boards()


@pytest.fixture(scope="module")
def flashers() -> Any:
    return discover(kinds=("flasher",))


def flasher(flashers: Any, name: str) -> Flasher:
    instance: Flasher = flashers.flasher(name)
    return instance


@pytest.fixture
def firmware_bin(tmp_path: Path) -> Path:
    path = tmp_path / "firmware.bin"
    path.write_bytes(bytes(range(256)) * 160)  # 40 KB
    return path


@pytest.fixture
def sketch(tmp_path: Path) -> Path:
    folder = tmp_path / "sketches" / "person_detect"
    folder.mkdir(parents=True)
    (folder / "person_detect.ino").write_text('#include "model_data.h"\nvoid setup() {}\nvoid loop() {}\n')
    (folder / "model_data.h").write_text("extern const unsigned char g_model[];\n")
    return folder


@pytest.fixture
def library_zip(tmp_path: Path) -> Path:
    path = tmp_path / "digits_int8_arduino.zip"
    with zipfile.ZipFile(path, "w") as zipped:
        zipped.writestr(
            "DigitsModel/library.properties",
            "name=DigitsModel\nversion=1.0.0\ndepends=Chirale_TensorFLowLite (>=2.0.0)\nincludes=model_data.h\n",
        )
        zipped.writestr("DigitsModel/src/DigitsModel.h", '#include "model_data.h"\n')
        zipped.writestr("DigitsModel/src/model_data.cc", "const unsigned char g_model[] = {0};\n")
        zipped.writestr("DigitsModel/examples/run_model/run_model.ino", "void setup() {}\nvoid loop() {}\n")
        zipped.writestr("DigitsModel/examples/serial_plot/serial_plot.ino", "void setup() {}\nvoid loop() {}\n")
    return path


@pytest.fixture
def pio_project(tmp_path: Path) -> Path:
    folder = tmp_path / "digits_pio"
    folder.mkdir()
    (folder / "platformio.ini").write_text(
        "[platformio]\ndefault_envs = native\n\n"
        "[env:native]\nplatform = native\n\n"
        "[env:esp32dev]\nplatform = espressif32\nboard = esp32dev  ; ESP32-DevKitC\nframework = arduino\n"
    )
    return folder


def wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


# --- dfu-util --------------------------------------------------------------------------------


def test_dfu_util_writes_after_arduinos_bootloader_with_its_dfu_id_and_reports_its_bars(
    tools: Tools, flashers: Any, boards: Any, firmware_bin: Path
) -> None:
    """Portenta H7: ArduinoCore-mbed uploads sketches with `--device 0x2341:0x035b ... -a0 --dfuse-address=0x08040000:leave`."""
    job = FlashJob(firmware_bin, boards.get("arduino_portenta_h7"))
    dfu = flasher(flashers, "dfu-util")
    steps = dfu.plan(job)
    command = next(step.command for step in steps if step.command)
    assert command[1:] == ("-a", "0", "-d", "2341:035b", "-s", "0x08040000:leave", "-D", str(firmware_bin))
    assert "not verified" in steps[-1].description

    watch = Watch()
    dfu.flash(job, watch.task)

    assert tools.calls() == [list(command)]
    watch.assert_rising(at_least=8)
    assert any(0 < f < 0.35 for f in watch.fractions) and any(0.35 < f < 1 for f in watch.fractions)
    assert any(line.startswith("Download\t[") for line in watch.lines)
    assert "File downloaded successfully" in watch.lines


def test_dfu_util_writes_a_model_slot_at_the_jobs_address_and_other_stm32s_at_the_flash_base(
    tools: Tools, flashers: Any, boards: Any, firmware_bin: Path
) -> None:
    dfu = flasher(flashers, "dfu-util")
    slot = FlashJob(firmware_bin, boards.get("arduino_nicla_vision"), address=0x08180000)
    assert dfu.plan(slot)[1].command[1:] == (
        "-a",
        "0",
        "-d",
        "2341:035f",
        "-s",
        "0x08180000:leave",
        "-D",
        str(firmware_bin),
    )
    nucleo = FlashJob(firmware_bin, boards.get("nucleo_h743zi"))  # its usb_ids are its ST-LINK, not a DFU ID
    assert dfu.plan(nucleo)[1].command[1:] == ("-a", "0", "-s", "0x08000000:leave", "-D", str(firmware_bin))
    dfu_file = firmware_bin.with_suffix(".dfu")
    dfu_file.write_bytes(b"DfuSe")
    assert dfu.plan(FlashJob(dfu_file, boards.get("nucleo_h743zi")))[1].command[-4:] == (
        "-s",
        ":leave",
        "-D",
        str(dfu_file),
    )


def test_dfu_util_refuses_an_elf_and_a_chip_whose_flash_address_is_unknown_before_running_anything(
    tools: Tools, flashers: Any, boards: Any, tmp_path: Path, firmware_bin: Path
) -> None:
    dfu = flasher(flashers, "dfu-util")
    elf = tmp_path / "firmware.elf"
    elf.write_bytes(b"\x7fELF")
    with pytest.raises(WorkbenchError, match="dfu-util writes .bin or .dfu files, not .elf") as caught:
        dfu.flash(FlashJob(elf, boards.get("arduino_portenta_h7")), Task())
    assert "objcopy -O binary" in caught.value.hint
    with pytest.raises(WorkbenchError, match="needs the flash address for BBC micro:bit v2"):
        dfu.plan(FlashJob(firmware_bin, boards.get("microbit_v2")))
    assert tools.calls() == []


def test_dfu_util_finding_no_board_in_dfu_mode_says_to_enter_the_bootloader(
    tools: Tools, flashers: Any, boards: Any, firmware_bin: Path
) -> None:
    tools.fail("no-device")
    with pytest.raises(WorkbenchError) as caught:
        flasher(flashers, "dfu-util").flash(FlashJob(firmware_bin, boards.get("arduino_portenta_h7")), Task())
    error = caught.value
    assert error.message == (
        "Writing firmware.bin to Arduino Portenta H7 with dfu-util failed: no board in DFU (bootloader) mode was found"
    )
    assert "double-tap reset" in error.hint
    assert "dfu-util: No DFU capable USB device available" in error.details.splitlines()


def test_dfu_util_without_permission_on_the_usb_device_says_so_with_a_udev_rule_on_linux(
    tools: Tools, flashers: Any, boards: Any, firmware_bin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    tools.fail("access")
    with pytest.raises(WorkbenchError) as caught:
        flasher(flashers, "dfu-util").flash(FlashJob(firmware_bin, boards.get("arduino_portenta_h7")), Task())
    assert caught.value.message.endswith("failed: no permission to open the board's USB device")
    assert 'ATTRS{idVendor}=="2341"' in caught.value.hint and "udevadm" in caught.value.hint


def test_dfu_util_losing_the_board_after_a_complete_download_is_success(
    tools: Tools, flashers: Any, boards: Any, firmware_bin: Path
) -> None:
    """dfu-util 0.9 ends with exit code 74 'Error during download get_status' once the board left DFU mode."""
    tools.fail("get-status")
    watch = Watch()
    flasher(flashers, "dfu-util").flash(FlashJob(firmware_bin, boards.get("arduino_portenta_h7")), watch.task)
    assert watch.fractions[-1] == 1.0
    assert any("left DFU mode to start the new firmware" in line for line in watch.lines)


# --- OpenOCD ---------------------------------------------------------------------------------


def test_openocd_programs_verifies_and_resets_through_the_st_link_and_reports_its_milestones(
    tools: Tools, flashers: Any, boards: Any, tmp_path: Path
) -> None:
    elf = tmp_path / "my model" / "firmware.elf"
    elf.parent.mkdir()
    elf.write_bytes(b"\x7fELF" + bytes(4000))
    job = FlashJob(elf, boards.get("nucleo_h743zi"))
    openocd = flasher(flashers, "openocd")
    command = openocd.plan(job)[1].command
    assert command[1:] == (
        "-f",
        "interface/stlink.cfg",
        "-f",
        "target/stm32h7x.cfg",
        "-c",
        f"program {{{elf}}} verify reset exit",
    )
    watch = Watch()
    openocd.flash(job, watch.task)
    assert tools.calls() == [list(command)]
    watch.assert_rising(at_least=5)
    assert "** Verified OK **" in watch.lines and "** Resetting Target **" in watch.lines


def test_openocd_puts_a_bin_at_the_flash_base_skips_verify_when_not_asked_and_takes_a_board_cfg(
    tools: Tools, flashers: Any, boards: Any, firmware_bin: Path
) -> None:
    openocd = flasher(flashers, "openocd")
    nucleo = boards.get("nucleo_h743zi")
    quick = FlashJob(firmware_bin, nucleo, verify=False)
    assert openocd.plan(quick)[1].command[-1] == f"program {{{firmware_bin}}} 0x08000000 reset exit"
    slot = FlashJob(firmware_bin, nucleo, address=0x08100000)
    assert openocd.plan(slot)[1].command[-1] == f"program {{{firmware_bin}}} 0x08100000 verify reset exit"
    pico = FlashJob(firmware_bin, boards.get("raspberry_pi_pico"))  # a Raspberry Pi Debug Probe, as its guide says
    assert openocd.plan(pico)[1].command[1:] == (
        "-f",
        "interface/cmsis-dap.cfg",
        "-f",
        "target/rp2040.cfg",
        "-c",
        "adapter speed 5000",
        "-c",
        f"program {{{firmware_bin}}} 0x10000000 verify reset exit",
    )
    whole_board = dataclasses.replace(nucleo, target="board/st_nucleo_h743zi.cfg")
    command = openocd.plan(FlashJob(firmware_bin, whole_board))[1].command
    assert command[1:3] == ("-f", "board/st_nucleo_h743zi.cfg") and command.count("-f") == 1
    watch = Watch()
    openocd.flash(FlashJob(firmware_bin, whole_board), watch.task)
    assert tools.calls()[-1] == list(command)


def test_openocd_names_the_board_field_to_set_for_a_chip_it_has_no_rule_for(
    tools: Tools, flashers: Any, boards: Any, firmware_bin: Path
) -> None:
    edge = boards.get("sparkfun_edge")  # Apollo3: no OpenOCD rule
    with pytest.raises(
        WorkbenchError, match=r"OpenOCD does not know which chip SparkFun Edge \(Apollo3\) has"
    ) as caught:
        flasher(flashers, "openocd").plan(FlashJob(firmware_bin, edge))
    assert "target under [flash]" in caught.value.hint
    assert tools.calls() == []


def test_openocd_without_a_probe_or_its_config_file_says_which(
    tools: Tools, flashers: Any, boards: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elf = tmp_path / "firmware.elf"
    elf.write_bytes(b"\x7fELF")
    openocd = flasher(flashers, "openocd")
    nucleo = boards.get("nucleo_h743zi")
    tools.fail("open-failed")
    with pytest.raises(WorkbenchError) as caught:
        openocd.flash(FlashJob(elf, nucleo), Task())
    assert caught.value.message.endswith("failed: no debug probe was found")
    assert "Error: open failed" in caught.value.details

    monkeypatch.setattr(sys, "platform", "linux")
    tools.fail("access")
    with pytest.raises(WorkbenchError) as caught:
        openocd.flash(FlashJob(elf, nucleo), Task())
    assert caught.value.message.endswith("failed: no permission to open the board's USB device")
    assert "udev" in caught.value.hint

    tools.fail("")
    odd = dataclasses.replace(nucleo, target="target/stm32h7x_custom.cfg")
    with pytest.raises(WorkbenchError) as caught:
        openocd.flash(FlashJob(elf, odd), Task())
    assert caught.value.message.endswith("failed: OpenOCD has no configuration file target/stm32h7x_custom.cfg")


# --- arduino-cli -----------------------------------------------------------------------------


def test_arduino_cli_compiles_then_uploads_the_sketch_with_verify_and_its_upload_tools_bars(
    tools: Tools, flashers: Any, boards: Any, sketch: Path
) -> None:
    job = FlashJob(sketch, boards.get("arduino_nano33_ble_sense"), port="/dev/ttyACM0")
    arduino = flasher(flashers, "arduino-cli")
    steps = arduino.plan(job)
    commands = [step.command for step in steps if step.command]
    assert [c[1:] for c in commands] == [
        ("compile", "--fqbn", "arduino:mbed_nano:nano33ble", str(sketch)),
        ("upload", "-p", "/dev/ttyACM0", "--fqbn", "arduino:mbed_nano:nano33ble", "--verify", str(sketch)),
    ]
    assert "arduino-cli core install arduino:mbed_nano" in steps[0].description

    watch = Watch()
    arduino.flash(job, watch.task)

    assert tools.calls() == [list(c) for c in commands]
    watch.assert_rising(at_least=10)
    assert 0.5 in watch.fractions  # compiling is the first half
    assert any(s.startswith("Verifying") for s in watch.statuses)
    assert any(line.startswith("Sketch uses ") for line in watch.lines)
    assert "Verify successful" in watch.lines


def test_arduino_cli_compiles_a_library_zips_first_example_with_the_library_and_installs_nothing(
    tools: Tools, flashers: Any, boards: Any, library_zip: Path, isolated_home: Path
) -> None:
    job = FlashJob(library_zip, boards.get("arduino_nano33_ble_sense"), port="/dev/ttyACM0", verify=False)
    arduino = flasher(flashers, "arduino-cli")
    steps = arduino.plan(job)
    unpacked = isolated_home / "flash" / "arduino" / "digits_int8_arduino"
    assert "nothing is installed" in steps[0].description and str(unpacked) in steps[0].description
    assert "`arduino-cli lib install Chirale_TensorFLowLite`" in steps[1].description
    assert not unpacked.exists(), "a plan touches nothing"
    (unpacked / "stale").mkdir(parents=True)  # what an earlier flash left

    arduino.flash(job, Task())

    library, example = unpacked / "DigitsModel", unpacked / "DigitsModel" / "examples" / "run_model"
    assert [call[1:] for call in tools.calls()] == [
        ["compile", "--fqbn", "arduino:mbed_nano:nano33ble", "--library", str(library), str(example)],
        ["upload", "-p", "/dev/ttyACM0", "--fqbn", "arduino:mbed_nano:nano33ble", str(example)],
    ]
    assert (example / "run_model.ino").is_file() and not (unpacked / "stale").exists()


def test_arduino_cli_compile_error_of_a_library_example_names_the_libraries_it_depends_on(
    tools: Tools, flashers: Any, boards: Any, library_zip: Path
) -> None:
    tools.fail("compile-error")
    with pytest.raises(WorkbenchError) as caught:
        flasher(flashers, "arduino-cli").flash(FlashJob(library_zip, boards.get("arduino_nano33_ble_sense")), Task())
    assert "did not compile: run_model.ino:5:" in caught.value.message
    assert caught.value.hint.startswith(
        "The library needs Chirale_TensorFLowLite: `arduino-cli lib install Chirale_TensorFLowLite` installs it."
    )


def test_arduino_cli_uploads_a_built_binary_as_is(tools: Tools, flashers: Any, boards: Any, firmware_bin: Path) -> None:
    arduino = flasher(flashers, "arduino-cli")
    job = FlashJob(firmware_bin, boards.get("arduino_nano33_ble_sense"), port="/dev/ttyACM0")
    arduino.flash(job, Task())
    assert [call[1:] for call in tools.calls()] == [
        [
            "upload",
            "-p",
            "/dev/ttyACM0",
            "--fqbn",
            "arduino:mbed_nano:nano33ble",
            "--verify",
            "--input-file",
            str(firmware_bin),
        ]
    ]


def test_arduino_cli_refuses_a_folder_whose_ino_is_not_named_after_it(
    tools: Tools, flashers: Any, boards: Any, sketch: Path
) -> None:
    (sketch / "person_detect.ino").rename(sketch / "main.ino")
    with pytest.raises(WorkbenchError, match="must be named person_detect.ino") as caught:
        flasher(flashers, "arduino-cli").plan(FlashJob(sketch, boards.get("arduino_nano33_ble_sense")))
    assert "Rename" in caught.value.hint


def test_arduino_cli_without_a_port_says_to_choose_one(tools: Tools, flashers: Any, boards: Any, sketch: Path) -> None:
    with pytest.raises(WorkbenchError) as caught:
        flasher(flashers, "arduino-cli").flash(FlashJob(sketch, boards.get("arduino_nano33_ble_sense")), Task())
    error = caught.value
    assert error.message == (
        "Uploading to Arduino Nano 33 BLE Sense failed: no serial port was given for the board and none was found"
    )
    assert "--port" in error.hint
    assert "Error during Upload: Failed uploading: no upload port provided" in error.details
    assert [call[1] for call in tools.calls()] == ["compile", "upload"]


def test_arduino_cli_with_the_core_missing_gives_the_install_command_with_its_package_index(
    tools: Tools, flashers: Any, boards: Any, sketch: Path
) -> None:
    tools.fail("platform-missing")
    with pytest.raises(WorkbenchError) as caught:
        flasher(flashers, "arduino-cli").flash(FlashJob(sketch, boards.get("raspberry_pi_pico")), Task())
    assert caught.value.message.endswith("failed: the Arduino core rp2040:rp2040 is not installed")
    assert (
        "`arduino-cli core install rp2040:rp2040 --additional-urls "
        "https://github.com/earlephilhower/arduino-pico/releases/download/global/package_rp2040_index.json`"
    ) in caught.value.hint


def test_arduino_cli_compile_error_shows_the_first_compiler_error(
    tools: Tools, flashers: Any, boards: Any, sketch: Path
) -> None:
    tools.fail("compile-error")
    with pytest.raises(WorkbenchError) as caught:
        flasher(flashers, "arduino-cli").flash(FlashJob(sketch, boards.get("arduino_nano33_ble_sense")), Task())
    assert caught.value.message == (
        "Compiling person_detect for Arduino Nano 33 BLE Sense failed: the code did not compile: "
        "person_detect.ino:5: 'foo' was not declared in this scope"
    )
    assert [call[1] for call in tools.calls()] == ["compile"], "nothing is uploaded after a failed compile"


def test_arduino_cli_permission_denied_on_the_port_names_it_and_the_dialout_group(
    tools: Tools, flashers: Any, boards: Any, sketch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    tools.fail("permission")
    job = FlashJob(sketch, boards.get("arduino_nano33_ble_sense"), port="/dev/ttyACM0")
    with pytest.raises(WorkbenchError) as caught:
        flasher(flashers, "arduino-cli").flash(job, Task())
    assert caught.value.message == "Uploading to Arduino Nano 33 BLE Sense failed: permission denied on /dev/ttyACM0"
    assert "dialout" in caught.value.hint


# --- PlatformIO ------------------------------------------------------------------------------


def test_platformio_builds_and_uploads_the_environment_for_the_board_and_reports_progress(
    tools: Tools, flashers: Any, boards: Any, pio_project: Path
) -> None:
    job = FlashJob(pio_project, boards.get("esp32_devkitc"), port="/dev/ttyUSB0")
    pio = flasher(flashers, "platformio")
    command = pio.plan(job)[0].command
    assert command[0] == str(tools.bin / "pio")
    assert command[1:] == (
        "run",
        "-d",
        str(pio_project),
        "-e",
        "esp32dev",
        "-t",
        "upload",
        "--upload-port",
        "/dev/ttyUSB0",
    )

    watch = Watch()
    pio.flash(job, watch.task)

    assert tools.calls() == [list(command)]
    watch.assert_rising(at_least=10)
    assert any(line.startswith("Writing at 0x") for line in watch.lines)


def test_platformio_without_a_port_says_to_choose_one(
    tools: Tools, flashers: Any, boards: Any, pio_project: Path
) -> None:
    tools.fail("no-port")
    with pytest.raises(WorkbenchError) as caught:
        flasher(flashers, "platformio").flash(FlashJob(pio_project, boards.get("esp32_devkitc")), Task())
    assert caught.value.message.endswith("failed: no serial port was given for the board and none was found")
    assert "Please specify `upload_port`" in caught.value.details


def test_platformio_compile_error_shows_the_first_compiler_error(
    tools: Tools, flashers: Any, boards: Any, pio_project: Path
) -> None:
    tools.fail("compile-error")
    with pytest.raises(WorkbenchError) as caught:
        flasher(flashers, "platformio").flash(FlashJob(pio_project, boards.get("esp32_devkitc")), Task())
    assert caught.value.message.endswith("the code did not compile: main.cpp:5: 'foo' was not declared in this scope")


def test_platformio_refuses_a_folder_without_platformio_ini_or_without_an_environment_for_the_board(
    tools: Tools, flashers: Any, boards: Any, pio_project: Path, tmp_path: Path
) -> None:
    pio = flasher(flashers, "platformio")
    with pytest.raises(WorkbenchError, match="not a PlatformIO project"):
        pio.plan(FlashJob(tmp_path, boards.get("esp32_devkitc")))
    assert pio.plan(FlashJob(pio_project, boards.get("sparkfun_edge")))[0].command[5] == "native"  # default_envs
    (pio_project / "platformio.ini").write_text("[env:a]\nboard = x\n[env:b]\nboard = y\n")
    with pytest.raises(WorkbenchError, match=r"none of its environments \(a, b\) is for SparkFun Edge"):
        pio.plan(FlashJob(pio_project, boards.get("sparkfun_edge")))
    (pio_project / "platformio.ini").write_text("[env:esp32s3]\nboard = esp32-s3-devkitc-1\n")
    with pytest.raises(WorkbenchError, match="is for the PlatformIO board esp32-s3-devkitc-1 .*not for SparkFun Edge"):
        pio.plan(FlashJob(pio_project, boards.get("sparkfun_edge")))


def test_platformio_runs_as_python_module_when_pio_is_not_on_the_path(
    tools: Tools, flashers: Any, boards: Any, pio_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tools.bin / "pio").unlink()
    package = tmp_path / "site" / "platformio"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text((STANDINS / "pio.py").read_text())
    shutil.copy(STANDINS / "standin_common.py", tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    pio = flasher(flashers, "platformio")
    assert pio.available().ok
    job = FlashJob(pio_project, boards.get("esp32_devkitc"), port="/dev/ttyUSB0")
    command = pio.plan(job)[0].command
    assert command[:3] == (sys.executable, "-m", "platformio")
    pio.flash(job, Task())
    assert tools.calls()[0][1:] == list(command[3:])


# --- all four --------------------------------------------------------------------------------


def test_a_missing_tool_is_not_available_and_says_how_to_get_it(
    tmp_path: Path, flashers: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "platformio" else find_spec(name, *a)
    )
    expected = {
        "arduino-cli": ("arduino-cli is not installed", "arduino.github.io/arduino-cli/latest/installation"),
        "platformio": ("PlatformIO is not installed", "pip install platformio"),
        "dfu-util": ("dfu-util is not installed", "apt install dfu-util"),
        "openocd": ("OpenOCD is not installed", "apt install openocd"),
    }
    for name, (missing, hint) in expected.items():
        availability = flasher(flashers, name).available()
        assert not availability.ok and missing in availability.missing and hint in availability.hint, name
    assert "the first build names the one to install" in flasher(flashers, "arduino-cli").available().hint


CANCELLED_JOBS = {
    "dfu-util": ("arduino_portenta_h7", "bin"),
    "openocd": ("nucleo_h743zi", "bin"),
    "arduino-cli": ("arduino_nano33_ble_sense", "sketch"),
    "platformio": ("esp32_devkitc", "pio"),
}


@pytest.mark.parametrize("name", list(CANCELLED_JOBS))
def test_cancel_ends_the_hanging_tool_and_what_it_started(
    name: str, tools: Tools, flashers: Any, boards: Any, firmware_bin: Path, sketch: Path, pio_project: Path
) -> None:
    board, kind = CANCELLED_JOBS[name]
    firmware = {"bin": firmware_bin, "sketch": sketch, "pio": pio_project}[kind]
    job = FlashJob(firmware, boards.get(board), port="/dev/ttyACM0")
    tools.hang()
    task = Task()

    def cancel_once_it_hangs() -> None:
        try:
            wait_for(tools.pid_file.exists, "the stand-in to hang")
        finally:
            task.cancel()

    threading.Thread(target=cancel_once_it_hangs, daemon=True).start()
    with pytest.raises(Cancelled):
        flasher(flashers, name).flash(job, task)
    pids = [int(pid) for pid in tools.pid_file.read_text().split()]
    wait_for(lambda: not any(alive(pid) for pid in pids), "the stand-in and its helper to end")
    assert task.children == ()


# --- the progress readers on the tools' own lines ---------------------------------------------


def test_readers_take_each_upload_tools_own_progress_lines() -> None:
    assert avrdude_reading("Writing | ################################################## | 100% 0.54s").fraction == 1.0
    assert picotool_reading("Loading into Flash: [===============               ]  50%").fraction == 0.5
    assert esptool_reading("Writing at 0x00010000... (14 %)").fraction == 0.14
    esptool5 = "Writing at 0x00014000 [=======>                      ]  25.0% 16.00kB/64.00kB [0s]"
    assert esptool_reading(esptool5).fraction == 0.25
    esptool5_utf8 = (
        "Writing at 0x00018000 \u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2578       50.0% 32.00kB/64.00kB [0s] "
    )
    assert esptool_reading(esptool5_utf8).fraction == 0.5  # as esptool 5.6 prints into a pipe
    assert uploader_reading("[===============               ] 50% (11/22 pages)").fraction == 0.5
    assert uploader_reading("Erase   \t[=========================] 100%        40960 bytes").phase == "Erasing"


def test_platformio_memory_use_bars_are_not_progress_and_avrdudes_signature_read_is_skipped() -> None:
    assert platformio_reading("RAM:   [=         ]   6.5% (used 21296 bytes from 327680 bytes)") is None
    assert platformio_reading("Flash: [==        ]  21.0% (used 275413 bytes from 1310720 bytes)") is None
    assert platformio_reading("Building in release mode") is None
    watch = Watch()
    meter = ProgressMeter(watch.task, platformio_reading, PLATFORMIO_SPANS)
    for line in (
        "Uploading .pio/build/uno/firmware.hex",
        "Reading | ################################################## | 100% 0.00s",  # the chip's signature
        "Writing | ################################################## | 100% 1.20s",
        "Reading | ################################################## | 100% 0.90s",  # the verify
    ):
        meter(line)
    writing_end, verify_end = PLATFORMIO_SPANS["Writing"][1], PLATFORMIO_SPANS["Verifying"][1]
    assert watch.fractions == [0.5, writing_end, verify_end]
    assert len(watch.lines) == 4
