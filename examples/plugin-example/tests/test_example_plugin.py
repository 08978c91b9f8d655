"""The example plugin's own tests, written with the workbench's helpers for plugin authors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from workbench_example_plugin import ExampleFlasher, ExampleSenseParser

from workbench.core.errors import WorkbenchError
from workbench.plugin_testing import board_of, parse, stand_in_program, try_flash

BOOT = ["Example Sense v1.2 booting", "sensor ok"]
LINES = ["SENSE|t=1200|temp=21.5|hum=40.2", "SENSE|t=1300|temp=21.6|hum=40.1"]


def test_the_parser_reads_the_firmwares_lines_and_passes_over_boot_text() -> None:
    parser = ExampleSenseParser()
    assert parser.sniff(LINES) == 1.0 and parser.sniff(BOOT) == 0.0
    records = parse(parser, BOOT + LINES, time=2.0)
    assert [r.values for r in records] == [
        {"device_ms": 1200.0, "temp": 21.5, "hum": 40.2},
        {"device_ms": 1300.0, "temp": 21.6, "hum": 40.1},
    ]
    assert parse(parser, ["SENSE|t=1|temp=oops"]) == [] and parser.malformed == 1


def on_path(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


def test_the_flasher_runs_its_program_with_the_port_and_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = stand_in_program(tmp_path / "bin", "exflash", prints="written 4 bytes")
    on_path(monkeypatch, tmp_path / "bin")
    firmware = tmp_path / "firmware.bin"
    firmware.write_bytes(b"\x00\x01\x02\x03")
    board = board_of("example_board")
    assert ExampleFlasher().available().ok
    lines = try_flash(ExampleFlasher(), firmware, board, port="/dev/ttyACM7")
    assert tool.calls() == [["--port", "/dev/ttyACM7", "--write", str(firmware)]]
    assert "written 4 bytes" in lines


def test_a_failing_program_is_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stand_in_program(tmp_path / "bin", "exflash", prints="no board answered", exit_code=3)
    on_path(monkeypatch, tmp_path / "bin")
    firmware = tmp_path / "firmware.bin"
    firmware.write_bytes(b"\x00")
    with pytest.raises(WorkbenchError, match="exflash could not write firmware.bin: no board answered"):
        try_flash(ExampleFlasher(), firmware, board_of("example_board"), port="/dev/ttyACM7")
