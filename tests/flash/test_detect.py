"""Finding plugged-in boards: serial ports by USB ID, UF2 drives by INFO_UF2.TXT, and arduino-cli's board list
(a stand-in program printing what the real one prints), each matched to the board files."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from serial.tools import list_ports
from serial.tools.list_ports_common import ListPortInfo

from workbench.core.boards import Board
from workbench.core.errors import Cancelled
from workbench.flash import detect
from workbench.flash.detect import DetectedDevice, describe_devices, detect_devices, parse_arduino_cli_board_list
from workbench.flash.uf2_format import parse_info
from workbench.plugins import load_boards
from workbench.tasks import Task

PICO_INFO = "UF2 Bootloader v3.0\nModel: Raspberry Pi RP2\nBoard-ID: RPI-RP2\n"
PICO2_INFO = "UF2 Bootloader v1.0\nModel: Raspberry Pi RP2350\nBoard-ID: RP2350\n"
XIAO_INFO = "UF2 Bootloader 0.6.1 lib/nrfx (v2.0.0)\nModel: Seeed XIAO nRF52840\nBoard-ID: nRF52840-SeeedXiaoSense-v1\n"
WIO_INFO = "UF2 Bootloader v3.14.0 SFHWRO\nModel: Wio Terminal\nBoard-ID: SAMD51P19A-WioTerminal-v0\n"
CIRCUIT_PLAYGROUND_INFO = (
    "UF2 Bootloader v3.10.0 SFHWRO\nModel: Circuit Playground Express\nBoard-ID: SAMD21G18A-CPlay-v0\n"
)

# `arduino-cli board list --format json` of arduino-cli 1.x (detected_ports since 0.36; a plain list before).
ARDUINO_CLI_OUTPUT = {
    "detected_ports": [
        {
            "matching_boards": [{"name": "Raspberry Pi Pico", "fqbn": "rp2040:rp2040:rpipico"}],
            "port": {
                "address": "/dev/ttyACM0",
                "label": "/dev/ttyACM0",
                "protocol": "serial",
                "protocol_label": "Serial Port (USB)",
                "properties": {"pid": "0x000a", "serialNumber": "E6614C311B6B8F2A", "vid": "0x2e8a"},
                "hardware_id": "E6614C311B6B8F2A",
            },
        },
        {
            "matching_boards": [{"name": "Arduino Nano 33 BLE", "fqbn": "arduino:mbed_nano:nano33ble"}],
            "port": {
                "address": "/dev/ttyACM1",
                "label": "/dev/ttyACM1",
                "protocol": "serial",
                "protocol_label": "Serial Port (USB)",
                "properties": {"pid": "0x805a", "serialNumber": "6A2C4B1E", "vid": "0x2341"},
                "hardware_id": "6A2C4B1E",
            },
        },
        {
            "port": {
                "address": "/dev/ttyS0",
                "label": "/dev/ttyS0",
                "protocol": "serial",
                "protocol_label": "Serial Port",
            }
        },
    ]
}


@pytest.fixture(scope="module")
def boards() -> list[Board]:
    return list(load_boards().boards.values())


def port(device: str, vid: int | None = None, pid: int | None = None, description: str = "n/a") -> ListPortInfo:
    """A port as pyserial lists it."""
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.description = vid, pid, description
    if vid is not None:
        info.serial_number = "E6614C311B6B8F2A"
        info.hwid = f"USB VID:PID={vid:04X}:{pid or 0:04X} SER=E6614C311B6B8F2A"
    return info


@pytest.fixture()
def ports(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[ListPortInfo]]:
    """The serial ports pyserial reports, as the test lays them out (none at first)."""
    listed: list[ListPortInfo] = []
    monkeypatch.setattr(list_ports, "comports", lambda include_links=False: list(listed))
    yield listed


@pytest.fixture()
def drives(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    """The mounted drives, as the test lays them out (none at first)."""
    mounted: list[Path] = []
    monkeypatch.setattr(detect, "candidate_drives", lambda: list(mounted))
    yield mounted


@pytest.fixture()
def no_arduino_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def stand_in_arduino_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> Path:
    """An `arduino-cli` on the PATH: a script that writes down its arguments, then runs `body`."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    script = folder / "arduino-cli"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys, time\n"
        f"open({str(tmp_path / 'arguments.json')!r}, 'w').write(json.dumps(sys.argv[1:]))\n" + textwrap.dedent(body)
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return tmp_path / "arguments.json"


def make_drive(parent: Path, name: str, info: str) -> Path:
    drive = parent / name
    drive.mkdir()
    (drive / "INFO_UF2.TXT").write_text(info)
    return drive


def test_serial_ports_are_matched_to_boards_by_usb_id(
    boards: list[Board], ports: list[ListPortInfo], drives: list[Path], no_arduino_cli: None
) -> None:
    ports += [
        port("/dev/ttyUSB0", 0x10C4, 0xEA60, "CP2102 USB to UART Bridge Controller"),
        port("/dev/ttyACM0", 0x2E8A, 0x000A, "Pico - Board CDC"),
        port("/dev/ttyS0"),
    ]
    devices = detect_devices(boards)
    assert devices == [
        DetectedDevice("serial", "/dev/ttyACM0", "Pico - Board CDC", "2E8A:000A", ("raspberry_pi_pico",)),
        DetectedDevice("serial", "/dev/ttyS0", "ttyS0", "", ()),
        DetectedDevice(
            "serial",
            "/dev/ttyUSB0",
            "CP2102 USB to UART Bridge Controller",
            "10C4:EA60",
            ("esp32_devkitc", "esp32c3_devkitm", "esp32s3_devkitc"),
        ),
    ]
    assert devices[0].to_json() == {
        "kind": "serial",
        "location": "/dev/ttyACM0",
        "description": "Pico - Board CDC",
        "usb_id": "2E8A:000A",
        "board_ids": ["raspberry_pi_pico"],
    }
    json.dumps([device.to_json() for device in devices])


def test_uf2_drives_are_matched_by_the_board_id_their_bootloader_gives(
    boards: list[Board], ports: list[ListPortInfo], drives: list[Path], no_arduino_cli: None, tmp_path: Path
) -> None:
    drives += [
        make_drive(tmp_path, "RPI-RP2", PICO_INFO),
        make_drive(tmp_path, "RP2350", PICO2_INFO),
        make_drive(tmp_path, "XIAO-SENSE", XIAO_INFO),
        make_drive(tmp_path, "Arduino", WIO_INFO),
        make_drive(tmp_path, "CPLAYBOOT", CIRCUIT_PLAYGROUND_INFO),
        tmp_path / "USB_STICK",  # not a UF2 drive: left out
        tmp_path / "unplugged",  # gone: left out
    ]
    (tmp_path / "USB_STICK").mkdir()
    found = {Path(d.location).name: d for d in detect_devices(boards)}
    assert sorted(found) == ["Arduino", "CPLAYBOOT", "RP2350", "RPI-RP2", "XIAO-SENSE"]
    assert {d.kind for d in found.values()} == {"uf2-drive"}
    assert found["RPI-RP2"].board_ids == ("arduino_nano_rp2040_connect", "raspberry_pi_pico")  # the boot ROM's
    assert found["RPI-RP2"].description == "UF2 bootloader: Raspberry Pi RP2 (Board-ID RPI-RP2)"
    assert found["RP2350"].board_ids == ("raspberry_pi_pico2",)
    assert found["XIAO-SENSE"].board_ids == ("xiao_nrf52840_sense",)
    assert found["Arduino"].board_ids == ("wio_terminal",)
    assert found["CPLAYBOOT"].board_ids == (), "no board file is a SAMD21"


def test_drive_matching_prefers_the_board_the_bootloader_names() -> None:
    wio = load_boards().get("wio_terminal")
    other = Board(**{**wio.to_json(), "id": "feather_m4", "name": "Adafruit Feather M4 Express"})
    feather_info = parse_info("Model: Feather M4 Express\nBoard-ID: SAMD51J19A-Feather-M4-v0\n")
    assert detect.boards_for_drive(parse_info(WIO_INFO), [other, wio]) == ("wio_terminal",)
    assert detect.boards_for_drive(feather_info, [other, wio]) == ("feather_m4",)
    unnamed = parse_info("Board-ID: SAMD51J19A\n")
    assert detect.boards_for_drive(unnamed, [other, wio]) == ("feather_m4", "wio_terminal")
    assert detect.boards_for_drive(parse_info(PICO2_INFO), [other, wio]) == ()


def test_arduino_cli_boards_join_the_serial_ports_and_add_the_ports_only_it_sees(
    boards: list[Board], ports: list[ListPortInfo], drives: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ports.append(port("/dev/ttyACM0", 0x2E8A, 0x000A, "Pico - Board CDC"))
    arguments = stand_in_arduino_cli(tmp_path, monkeypatch, f"print(json.dumps({ARDUINO_CLI_OUTPUT!r}, indent=2))\n")
    devices = detect_devices(boards)
    assert json.loads(arguments.read_text()) == ["board", "list", "--format", "json"]
    assert devices == [
        DetectedDevice("serial", "/dev/ttyACM0", "Pico - Board CDC", "2E8A:000A", ("raspberry_pi_pico",)),
        DetectedDevice(
            "arduino-cli", "/dev/ttyACM1", "Arduino Nano 33 BLE", "2341:805A", ("arduino_nano33_ble_sense",)
        ),
        DetectedDevice("arduino-cli", "/dev/ttyS0", "Serial Port", "", ()),
    ]


def test_arduino_cli_before_0_36_printed_the_list_itself() -> None:
    old = json.dumps(ARDUINO_CLI_OUTPUT["detected_ports"][:1])
    assert (
        parse_arduino_cli_board_list("warning: config file not found\n" + old)
        == ARDUINO_CLI_OUTPUT["detected_ports"][:1]
    )
    assert parse_arduino_cli_board_list("{}") == []
    with pytest.raises(ValueError):
        parse_arduino_cli_board_list("Error: no discovery")


@pytest.mark.parametrize(
    "body",
    [
        "print('Error getting board list: discovery failed', file=sys.stderr)\nsys.exit(1)\n",
        "print('this is not JSON')\n",
        'print(\'[{"port": 7}, "odd"]\')\n',
        "time.sleep(60)\n",
    ],
    ids=["fails", "prints-no-json", "prints-odd-json", "hangs"],
)
def test_a_failing_arduino_cli_leaves_its_part_out_and_detection_goes_on(
    body: str,
    boards: list[Board],
    ports: list[ListPortInfo],
    drives: list[Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(detect, "ARDUINO_CLI_TIMEOUT_S", 1.0)
    ports.append(port("/dev/ttyACM0", 0x2E8A, 0x000A, "Pico - Board CDC"))
    drives.append(make_drive(tmp_path, "RPI-RP2", PICO_INFO))
    arguments = stand_in_arduino_cli(tmp_path, monkeypatch, body)
    devices = detect_devices(boards)
    assert arguments.exists(), "arduino-cli was run"
    assert [(d.kind, d.location) for d in devices] == [("serial", "/dev/ttyACM0"), ("uf2-drive", str(drives[0]))]


def test_without_arduino_cli_or_when_told_not_to_use_it_detection_still_works(
    boards: list[Board],
    ports: list[ListPortInfo],
    drives: list[Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_arduino_cli: None,
) -> None:
    ports.append(port("/dev/ttyACM0", 0x2E8A, 0x000A, "Pico - Board CDC"))
    assert [d.location for d in detect_devices(boards)] == ["/dev/ttyACM0"]
    arguments = stand_in_arduino_cli(tmp_path, monkeypatch, f"print(json.dumps({ARDUINO_CLI_OUTPUT!r}))\n")
    assert [d.location for d in detect_devices(boards, use_arduino_cli=False)] == ["/dev/ttyACM0"]
    assert not arguments.exists(), "arduino-cli was not run"


def test_a_cancelled_detection_stops(
    boards: list[Board], ports: list[ListPortInfo], drives: list[Path], no_arduino_cli: None
) -> None:
    task = Task()
    task.cancel()
    with pytest.raises(Cancelled):
        detect_devices(boards, task=task)


def test_devices_are_described_in_aligned_lines_with_board_names(boards: list[Board]) -> None:
    devices = [
        DetectedDevice("serial", "/dev/ttyACM0", "Pico - Board CDC", "2E8A:0003", ("raspberry_pi_pico",)),
        DetectedDevice("serial", "/dev/ttyS0", "ttyS0", "", ()),
        DetectedDevice(
            "uf2-drive",
            "/media/me/RPI-RP2",
            "UF2 bootloader: Raspberry Pi RP2 (Board-ID RPI-RP2)",
            "",
            ("arduino_nano_rp2040_connect", "raspberry_pi_pico", "gone_board"),
        ),
    ]
    assert describe_devices(devices, boards) == [
        "/dev/ttyACM0       2E8A:0003  Raspberry Pi Pico (raspberry_pi_pico)",
        "/dev/ttyS0         -          ttyS0 (no board file matches)",
        "/media/me/RPI-RP2  UF2 drive  Arduino Nano RP2040 Connect (arduino_nano_rp2040_connect) or "
        "Raspberry Pi Pico (raspberry_pi_pico) or gone_board - UF2 bootloader: Raspberry Pi RP2 (Board-ID RPI-RP2)",
    ]
    assert describe_devices([], boards) == []


def test_fat_mounts_anywhere_in_the_linux_mount_table_are_candidate_drives() -> None:
    table = (
        "/dev/nvme0n1p2 / ext4 rw,relatime 0 0\n"
        "/dev/sda1 /media/me/RPI-RP2 vfat rw,nosuid,nodev,relatime,uid=1000 0 0\n"
        "/dev/sdb1 /mnt/my\\040pico msdos rw 0 0\n"
        "tmpfs /run tmpfs rw 0 0\n"
    )
    assert detect.fat_mount_points(table) == [Path("/media/me/RPI-RP2"), Path("/mnt/my pico")]


def test_drives_are_looked_for_under_the_account_name_when_user_is_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    from workbench.flash import detect as detect_module

    monkeypatch.delenv("USER", raising=False)
    monkeypatch.setattr(getpass, "getuser", lambda: "maker")
    assert Path("/media/maker") in detect_module._media_roots()
    assert Path("/run/media/maker") in detect_module._media_roots()
