"""The Deploy commands as a user runs them: export, flash (dry run and for real into a UF2 drive), ports."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SAMPLES, run_cli
from workbench.export.staging import MANIFEST

SAMPLE = SAMPLES / "digits_int8.tflite"


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("c", {"model_data.h", "model_data.cc", "model_ops.h", "model_slot.h"}),
        ("arduino", {"digits_int8_model.zip"}),
        ("platformio", {"platformio.ini", "src/main.cpp", "src/model_data.h"}),
        ("cmake", {"CMakeLists.txt", "main.cpp", "model_data.h"}),
        ("report", {"digits_int8_report.html"}),
    ],
)
def test_export_writes_each_format_and_lists_its_files(tmp_path: Path, fmt: str, expected: set[str]) -> None:
    out = tmp_path / "out"
    done = run_cli("export", str(SAMPLE), "--format", fmt, "--board", "raspberry_pi_pico", "-o", str(out), "--json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    listed = {str(Path(f).relative_to(out)) for f in shown["files"]}
    on_disk = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.name != MANIFEST}
    assert listed == on_disk and expected <= on_disk, on_disk


def test_export_c_embeds_the_model_byte_for_byte_with_the_symbol_asked_for(tmp_path: Path) -> None:
    done = run_cli("export", str(SAMPLE), "--symbol", "digits_model", "--language", "c", "-o", str(tmp_path / "c"))
    assert done.returncode == 0, done.stderr
    source = (tmp_path / "c" / "model_data.c").read_text()
    body = source[source.index("digits_model[]") :]
    body = body[body.index("{") + 1 : body.index("}")]
    data = bytes(int(value, 16) for value in body.replace("\n", " ").split(",") if value.strip())
    assert data == SAMPLE.read_bytes()
    assert "extern const unsigned int digits_model_len;" in (tmp_path / "c" / "model_data.h").read_text()


TINY_BOARD = """
name = "Tiny Board"
mcu = "T1"
core = "Cortex-M0"
clock_mhz = 48
flash_kb = 256
ram_kb = 32
usb_ids = []
baud = 115200

[flash]
flasher = "uf2"
"""


def test_export_refusals_are_one_line_and_write_nothing(
    tmp_path: Path, reference_models: Path, isolated_home: Path
) -> None:
    (isolated_home / "plugins" / "boards").mkdir(parents=True)
    (isolated_home / "plugins" / "boards" / "tiny.toml").write_text(TINY_BOARD)
    person = reference_models / "person_detect.tflite"
    cases = [
        (("export", str(person), "--board", "tiny", "--no-tflm"), "does not fit Tiny Board: 37.5 KB over its 256.0 KB"),
        (("export", str(SAMPLE), "--board", "no_such_board"), "unknown board 'no_such_board'"),
        (("export", str(SAMPLE), "--symbol", "3d"), "cannot name a C array"),
    ]
    for args, message in cases:
        out = tmp_path / "out"
        done = run_cli(*args, "-o", str(out))
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
        assert not out.exists()


def test_flash_dry_run_prints_the_steps_with_addresses_and_touches_nothing(tmp_path: Path) -> None:
    drive = tmp_path / "RPI-RP2"
    drive.mkdir()
    (drive / "INFO_UF2.TXT").write_text("UF2 Bootloader v3.0\nModel: Raspberry Pi RP2\nBoard-ID: RPI-RP2\n")
    done = run_cli(
        "flash", str(SAMPLE), "--board", "raspberry_pi_pico", "--drive", str(drive), "--model-only", "--dry-run"
    )
    assert done.returncode == 0, done.stderr
    assert "0x10100000" in done.stdout and str(drive) in done.stdout
    assert sorted(p.name for p in drive.iterdir()) == ["INFO_UF2.TXT"]


def test_flash_model_only_into_a_uf2_drive_writes_blocks_at_the_slot_address(tmp_path: Path) -> None:
    drive = tmp_path / "RPI-RP2"
    drive.mkdir()
    (drive / "INFO_UF2.TXT").write_text("UF2 Bootloader v3.0\nModel: Raspberry Pi RP2\nBoard-ID: RPI-RP2\n")
    argv = ["flash", str(SAMPLE), "--board", "raspberry_pi_pico", "--drive", str(drive), "--model-only", "--json"]
    child = subprocess.Popen([sys.executable, "-m", "workbench", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    copy = drive / "digits_int8.slot.uf2"
    data = b""
    for _ in range(600):  # play the bootloader: once the whole file is there, the board restarts
        if copy.exists() and (data := copy.read_bytes()) and len(data) == 512 * struct.unpack_from("<I", data, 24)[0]:
            break
        time.sleep(0.05)
    shutil.rmtree(drive)
    stdout, stderr = child.communicate(timeout=120)
    assert child.returncode == 0, stderr
    assert json.loads(stdout)["board"] == "raspberry_pi_pico"
    assert struct.unpack_from("<I", data, 12)[0] == 0x10100000, "the first block goes to the slot address"


def test_flash_refusals_are_one_line(tmp_path: Path) -> None:
    not_a_drive = tmp_path / "stick"
    not_a_drive.mkdir()
    cases = [
        (("flash", str(SAMPLE), "--board", "nope"), "unknown board 'nope'"),
        (
            ("flash", str(SAMPLE), "--board", "esp32s3_devkitc", "--port", "/dev/ttyNOPE9", "--model-only"),
            "no such port",
        ),
        (("flash", str(SAMPLE), "--board", "raspberry_pi_pico", "--drive", str(not_a_drive), "--model-only"), "UF2"),
        (("flash", str(tmp_path / "none.uf2"), "--board", "raspberry_pi_pico"), "no such file"),
    ]
    for args, message in cases:
        done = run_cli(*args)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr


def test_ports_json_is_a_list_of_devices() -> None:
    done = run_cli("ports", "--json")
    assert done.returncode == 0, done.stderr
    devices = json.loads(done.stdout)
    assert isinstance(devices, list)
    for device in devices:
        assert {"kind", "location", "description", "usb_id", "board_ids"} <= set(device)


def test_export_of_a_keras_file_with_a_lambda_layer_needs_and_honours_allow_unsafe(
    tmp_path: Path, built_models: Path
) -> None:
    args = ("export", str(built_models / "lambda.keras"), "--no-tflm", "-o", str(tmp_path / "out"))
    refused = run_cli(*args)
    assert refused.returncode == 2 and "--allow-unsafe" in refused.stderr + refused.stdout, refused.stderr
    done = run_cli(*args, "--allow-unsafe")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "model_data.h").is_file()


def test_a_platformio_export_for_a_board_platformio_does_not_know_is_refused_before_measuring(tmp_path: Path) -> None:
    done = run_cli(
        "export", str(SAMPLE), "--format", "platformio", "--board", "arduino_nicla_vision", "-o", str(tmp_path / "o")
    )
    assert done.returncode == 2 and "has no PlatformIO board id" in done.stderr, done.stderr
    assert not (tmp_path / "o").exists()


def test_the_cli_offers_exactly_the_export_formats_there_are() -> None:
    from workbench.cli_parser import EXPORT_FORMATS
    from workbench.export.api import FORMATS

    assert EXPORT_FORMATS == tuple(FORMATS)


def test_a_replay_ended_by_sigterm_removes_its_link(tmp_path: Path) -> None:
    """SIGTERM (how a parent ends a command) unwinds like Ctrl+C: the port's link does not outlive it."""
    import signal

    recording = tmp_path / "rec.csv"
    recording.write_text("time,a,events\n" + "".join(f"{i},{i},\n" for i in range(0, 600)))
    link = tmp_path / "port"
    child = subprocess.Popen(
        [sys.executable, "-m", "workbench", "replay", str(recording), "--link", str(link)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert "Replaying" in child.stdout.readline()
        assert link.is_symlink()
        child.send_signal(signal.SIGTERM)
        child.wait(60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert not link.is_symlink() and child.returncode == 130
