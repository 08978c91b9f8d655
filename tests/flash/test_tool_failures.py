"""A flashing tool's failure becomes one plain sentence and a hint, read from the tool's own words.

The output below is what the real tools print (dfu-util, OpenOCD, arduino-cli, PlatformIO, and
the upload tools they run: esptool, BOSSA, avrdude), copied from their sources and from users'
reports of these failures.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from workbench.core.errors import WorkbenchError
from workbench.flash.tool_failures import explain, run_tool
from workbench.flash.tool_progress import UPLOAD_SPANS, uploader_reading
from workbench.tasks import Task

DFU_BANNER = ["dfu-util 0.11", "Copyright 2005-2009 Weston Schmidt, Harald Welte and OpenMoko Inc."]
OPENOCD_BANNER = ["Open On-Chip Debugger 0.12.0", "Licensed under GNU GPL v2", "Info : clock speed 1800 kHz"]

# (case, tool, port, output, reason the person reads)
CASES = [
    (
        "dfu-util, no board in DFU mode",
        "dfu-util",
        "",
        [*DFU_BANNER, "dfu-util: No DFU capable USB device available"],
        "no board in DFU (bootloader) mode was found",
    ),
    (
        "dfu-util 0.9, a device it may not open",
        "dfu-util",
        "",
        [*DFU_BANNER, "dfu-util: Cannot open DFU device 0483:df11", "dfu-util: No DFU capable USB device available"],
        "no permission to open the board's USB device",
    ),
    (
        "dfu-util, two boards",
        "dfu-util",
        "",
        [
            *DFU_BANNER,
            "dfu-util: More than one DFU capable USB device found! Try `--list' and specify the serial number or "
            "disconnect all but one device",
        ],
        "more than one board is in DFU mode",
    ),
    (
        "OpenOCD, no ST-LINK",
        "openocd",
        "",
        [*OPENOCD_BANNER, "Error: open failed", "in procedure 'program'", "** OpenOCD init failed **"],
        "no debug probe was found",
    ),
    (
        "OpenOCD, no CMSIS-DAP probe",
        "openocd",
        "",
        [*OPENOCD_BANNER, "Error: unable to find a matching CMSIS-DAP device", "** OpenOCD init failed **"],
        "no debug probe was found",
    ),
    (
        "OpenOCD, a probe that cannot reach the chip",
        "openocd",
        "",
        [
            *OPENOCD_BANNER,
            "Info : STLINK V2J37M26 (API v2) VID:PID 0483:374B",
            "Error: init mode failed (unable to connect to the target)",
            "in procedure 'program'",
            "** OpenOCD init failed **",
        ],
        "the debug probe could not reach the chip",
    ),
    (
        "OpenOCD, verify failed",
        "openocd",
        "",
        [
            *OPENOCD_BANNER,
            "** Programming Started **",
            "** Programming Finished **",
            "** Verify Started **",
            "Error: checksum mismatch - attempting binary compare",
            "diff 0 address 0x08000000. Was 0x00 instead of 0x20",
            "** Verify Failed **",
            "shutdown command invoked",
        ],
        "the board's flash did not read back what was written (verify failed)",
    ),
    (
        "OpenOCD, write failed",
        "openocd",
        "",
        [
            *OPENOCD_BANNER,
            "** Programming Started **",
            "Error: failed erasing sectors 0 to 3",
            "** Programming Failed **",
        ],
        "OpenOCD could not write the flash",
    ),
    (
        "OpenOCD, configuration file missing",
        "openocd",
        "",
        [
            *OPENOCD_BANNER[:2],
            "embedded:startup.tcl:28: Error: Can't find target/stm32h8x.cfg",
            "in procedure 'script'",
        ],
        "OpenOCD has no configuration file target/stm32h8x.cfg",
    ),
    (
        "arduino-cli, no port",
        "arduino-cli",
        "",
        ["Error during Upload: Failed uploading: no upload port provided"],
        "no serial port was given for the board and none was found",
    ),
    (
        "arduino-cli, invalid FQBN",
        "arduino-cli",
        "",
        ["Error during build: Invalid FQBN: not an FQBN: nano33ble"],
        "arduino-cli does not know the board not an FQBN: nano33ble",
    ),
    (
        "esptool, permission denied",
        "arduino-cli",
        "/dev/ttyUSB0",
        [
            "A fatal error occurred: Could not open /dev/ttyUSB0, the port is busy or doesn't exist.",
            "([Errno 13] could not open port /dev/ttyUSB0: [Errno 13] Permission denied: '/dev/ttyUSB0')",
            "Hint: Try to add user into dialout or uucp group.",
        ],
        "permission denied on /dev/ttyUSB0",
    ),
    (
        "esptool, no such port",
        "arduino-cli",
        "/dev/ttyUSB1",
        [
            "A fatal error occurred: Could not open /dev/ttyUSB1, the port is busy or doesn't exist.",
            "([Errno 2] could not open port /dev/ttyUSB1: [Errno 2] No such file or directory: '/dev/ttyUSB1')",
        ],
        "no board answered on /dev/ttyUSB1",
    ),
    (
        "esptool, port in use",
        "PlatformIO",
        "/dev/ttyUSB0",
        [
            "A fatal error occurred: Could not open /dev/ttyUSB0, the port is busy or doesn't exist.",
            "([Errno 16] could not open port /dev/ttyUSB0: [Errno 16] Device or resource busy: '/dev/ttyUSB0')",
        ],
        "/dev/ttyUSB0 is in use by another program",
    ),
    (
        "esptool, board not in download mode",
        "PlatformIO",
        "/dev/ttyUSB0",
        [
            "Connecting......................................",
            "A fatal error occurred: Failed to connect to ESP32: No serial data received.",
        ],
        "the board did not answer in its download mode",
    ),
    (
        "BOSSA, nothing on the port",
        "arduino-cli",
        "/dev/ttyACM0",
        ["No device found on ttyACM0", "Failed uploading: uploading error: exit status 1"],
        "no board answered on /dev/ttyACM0",
    ),
    (
        "PlatformIO, no port",
        "PlatformIO",
        "",
        [
            "Looking for upload port...",
            "Error: Please specify `upload_port` for environment or use global `--upload-port` option.",
            "*** [upload] Explicit exit, status 1",
        ],
        "no serial port was given for the board and none was found",
    ),
    (
        "PlatformIO, unknown environment",
        "PlatformIO",
        "",
        ["Error: Unknown environment names 'pico'. Valid names are 'native, esp32dev'"],
        "the PlatformIO project has no environment 'pico'",
    ),
    (
        "PlatformIO, unknown board",
        "PlatformIO",
        "",
        [
            "Processing edge (platform: apollo3blue; board: sparkfun_edgy; framework: arduino)",
            "Error: Unknown board ID 'sparkfun_edgy'",
        ],
        "PlatformIO does not know the board 'sparkfun_edgy'",
    ),
    (
        "PlatformIO, a tool not made for this computer",
        "PlatformIO",
        "",
        [
            "Error: Could not find the package with 'platformio/tool-openocd @ ~3.1200.0' requirements for your system 'linux_riscv64'"
        ],
        "PlatformIO has no platformio/tool-openocd @ ~3.1200.0 for this computer (linux_riscv64)",
    ),
]


@pytest.mark.parametrize(("tool", "port", "output", "reason"), [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_a_known_failure_reads_as_its_cause(tool: str, port: str, output: list[str], reason: str) -> None:
    failure = explain(output, 1, tool=tool, port=port)
    assert failure.reason == reason
    assert failure.hint


def test_permission_hints_name_the_dialout_group_and_a_udev_rule_on_linux_and_zadig_on_windows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    avrdude = ['avrdude: ser_open(): can\'t open device "/dev/ttyACM0": Permission denied']
    dfu = ["dfu-util: Cannot open DFU device 2341:035b found on devnum 7 (LIBUSB_ERROR_ACCESS)"]
    monkeypatch.setattr(sys, "platform", "linux")
    assert "sudo usermod -aG dialout $USER" in explain(avrdude, 1, tool="arduino-cli").hint
    linux_usb = explain(dfu, 74, tool="dfu-util").hint
    assert 'ATTRS{idVendor}=="2341"' in linux_usb and "udevadm trigger" in linux_usb
    monkeypatch.setattr(sys, "platform", "win32")
    assert "dialout" not in explain(avrdude, 1, tool="arduino-cli").hint
    assert "Zadig" in explain(dfu, 74, tool="dfu-util").hint


def test_a_missing_core_gives_the_install_command_and_a_third_party_cores_package_index() -> None:
    avr = explain(
        [
            "Error during build: Platform 'arduino:avr' not found: platform not installed",
            "Try running `arduino-cli core install arduino:avr`",
        ],
        1,
        tool="arduino-cli",
    )
    assert avr.reason == "the Arduino core arduino:avr is not installed"
    assert "`arduino-cli core install arduino:avr`" in avr.hint
    esp32 = explain(
        ["Error during Upload: Platform 'esp32:esp32' not found: platform not installed"], 1, tool="arduino-cli"
    )
    assert "--additional-urls https://espressif.github.io/arduino-esp32/package_esp32_index.json" in esp32.hint


def test_a_compile_error_shows_the_first_compiler_error_and_a_missing_header_names_the_library_to_install() -> None:
    output = [
        "/home/me/digits/digits.ino: In function 'void loop()':",
        "/home/me/digits/digits.ino:12:5: error: 'interpreter' was not declared in this scope",
        "/home/me/digits/digits.ino:20:1: error: expected '}' at end of input",
        "Error during build: exit status 1",
    ]
    failure = explain(output, 1, tool="arduino-cli")
    assert failure.reason == "the code did not compile: digits.ino:12: 'interpreter' was not declared in this scope"
    missing = explain(
        [
            "C:\\Users\\me\\digits\\digits.ino:3:10: fatal error: TensorFlowLite.h: No such file or directory",
            "compilation terminated.",
            "Error during build: exit status 1",
        ],
        1,
        tool="arduino-cli",
        port="COM3",
    )
    assert missing.reason == "the code did not compile: digits.ino:3: TensorFlowLite.h: No such file or directory"
    assert "It includes TensorFlowLite.h" in missing.hint


def test_an_unknown_failure_names_the_exit_and_the_last_error_line_and_a_crash_its_signal() -> None:
    failure = explain(["Writing...", "Error: flux capacitor not charged", "bye"], 3, tool="mytool")
    assert failure.reason == "mytool stopped with exit code 3 (Error: flux capacitor not charged)"
    assert failure.hint == "The tool's own output is in the details."
    assert explain(["Writing..."], -11, tool="mytool").reason == "mytool crashed (SIGSEGV) (Writing...)"


# --- run_tool: a real process --------------------------------------------------------------------


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def run(argv: list[str], task: Task | None = None, **options: object) -> object:
    settings: dict[str, object] = {
        "tool": "mytool",
        "what": "Flashing the board",
        "reader": uploader_reading,
        "spans": UPLOAD_SPANS,
        "timeout_s": 60.0,
    }
    settings.update(options)
    return run_tool(argv, task or Task(), **settings)  # type: ignore[arg-type]


def test_run_tool_sends_every_line_to_the_log_and_the_tools_bars_to_the_progress() -> None:
    seen: list[float] = []
    lines: list[str] = []
    task = Task(on_progress=lambda f, s: seen.append(f), on_log=lines.append)
    code = (
        "import sys\n"
        "print('Write 8192 bytes to flash (2 pages)', flush=True)\n"
        "for page in range(3):\n"
        "    sys.stdout.write(f'\\r[{\"=\" * (page * 15):30}] {page * 50}% ({page}/2 pages)'); sys.stdout.flush()\n"
        "print()\n"
    )
    run(python(code), task)
    assert lines == [
        "Write 8192 bytes to flash (2 pages)",
        "[                              ] 0% (0/2 pages)",
        "[===============               ] 50% (1/2 pages)",
        "[==============================] 100% (2/2 pages)",
    ]
    start, end = UPLOAD_SPANS["Writing"]
    assert seen == [start, start, start + (end - start) / 2, end]


def test_run_tool_past_its_time_limit_is_stopped_and_says_so_with_the_tools_last_lines(tmp_path: Path) -> None:
    task = Task()
    with pytest.raises(WorkbenchError) as caught:
        run(python("import time; print('waiting for the board', flush=True); time.sleep(60)"), task, timeout_s=1)
    assert caught.value.message == "Flashing the board failed: mytool took longer than 1 s and was stopped"
    assert "plug it in again" in caught.value.hint
    assert caught.value.details == "waiting for the board"
    assert task.children == ()


def test_run_tool_that_cannot_start_gives_the_install_hint() -> None:
    with pytest.raises(WorkbenchError, match="cannot start no-such-tool-xyz") as caught:
        run(["no-such-tool-xyz"], install_hint="Install no-such-tool-xyz from its website.")
    assert caught.value.hint == "Install no-such-tool-xyz from its website."


def test_run_tool_keeps_the_first_compiler_error_after_it_scrolled_out_of_the_tail() -> None:
    code = (
        "print('main.cpp:7:1: error: expected declaration before end of line')\n"
        "for n in range(200):\n"
        "    print(f'note: candidate {n}')\n"
        "raise SystemExit(1)\n"
    )
    with pytest.raises(WorkbenchError) as caught:
        run(python(code))
    error = caught.value
    assert error.message == (
        "Flashing the board failed: the code did not compile: main.cpp:7: expected declaration before end of line"
    )
    details = error.details.splitlines()
    assert details[0] == "main.cpp:7:1: error: expected declaration before end of line"
    assert details[1] == "..." and details[-1] == "note: candidate 199"


def test_run_tool_fails_on_a_failure_marker_despite_exit_0_and_accepts_a_known_harmless_exit() -> None:
    with pytest.raises(WorkbenchError, match="OpenOCD could not write the flash"):
        run(
            python("print('** Programming Started **'); print('** Programming Failed **')"),
            failure_markers=("** Programming Failed **",),
        )
    result = run(
        python(
            "print('File downloaded successfully'); print('dfu-util: Error during download get_status'); raise SystemExit(74)"
        ),
        succeeded=lambda lines: "File downloaded successfully" in lines,
    )
    assert result.returncode == 74  # type: ignore[attr-defined]
