"""Boards as TOML data, user boards, malformed files, and fit arithmetic."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from workbench.core.boards import FLASHERS, fit, load_boards
from workbench.plugins import builtin_plugin_dir, user_plugin_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REQUIRED_BOARDS = {
    "arduino_nano33_ble_sense",
    "arduino_nano_rp2040_connect",
    "arduino_portenta_h7",
    "raspberry_pi_pico",
    "raspberry_pi_pico2",
    "esp32_devkitc",
    "esp32s3_devkitc",
    "xiao_nrf52840_sense",
    "xiao_esp32s3",
    "nucleo_l4r5zi",
    "nucleo_f746zg",
    "nucleo_h743zi",
    "microbit_v2",
}


def test_builtin_boards_are_all_valid() -> None:
    catalog = load_boards()
    assert REQUIRED_BOARDS <= set(catalog.boards)
    assert not [p for p in catalog.problems if "plugins/boards" in p.path]
    for board in catalog.boards.values():
        assert board.flasher in FLASHERS, board.id
        assert board.flash_kb > 0 and board.ram_kb > 0 and board.clock_mhz > 0
        assert board.usb_ids, board.id


def test_fit_is_the_arithmetic_of_the_toml() -> None:
    path = builtin_plugin_dir() / "boards" / "arduino_nano33_ble_sense.toml"
    raw = tomllib.loads(path.read_text())
    board = load_boards().get("arduino_nano33_ble_sense")
    result = fit(300_568, 85_264, board)
    assert result.flash_used_pct == round(100 * 300_568 / (raw["flash_kb"] * 1024), 2)
    assert result.ram_used_pct == round(100 * 85_264 / (raw["ram_kb"] * 1024), 2)
    assert result.flash_headroom_bytes == raw["flash_kb"] * 1024 - 300_568
    assert result.flash_ok and result.ram_ok
    too_big = fit(raw["flash_kb"] * 1024 + 1, raw["ram_kb"] * 1024 + 1, board)
    assert not too_big.flash_ok and not too_big.ram_ok


def test_user_board_is_added_and_malformed_ones_are_skipped(isolated_home: Path) -> None:
    folder = user_plugin_dir() / "boards"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "my_board.toml").write_text(
        'name = "My Board"\nmcu = "STM32F411"\nclock_mhz = 100\nflash_kb = 512\nram_kb = 128\n'
        'usb_ids = ["0483:5740"]\n[flash]\nflasher = "dfu-util"\n'
    )
    (folder / "broken.toml").write_text("name = 'Broken\nflash_kb = ")
    (folder / "no_ram.toml").write_text('name = "No RAM"\nmcu = "X"\nclock_mhz = 1\nflash_kb = 1\n')
    try:
        catalog = load_boards()
        assert catalog.get("my_board").flash_kb == 512
        problems = {Path(p.path).name: p.message for p in catalog.problems}
        assert "not valid TOML" in problems["broken.toml"]
        assert "missing 'ram_kb'" in problems["no_ram.toml"]
        assert "broken" not in catalog.boards
    finally:
        for name in ("my_board.toml", "broken.toml", "no_ram.toml"):
            (folder / name).unlink()


def test_unknown_board_lists_known_ones() -> None:
    from workbench.core.errors import WorkbenchError

    with pytest.raises(WorkbenchError) as caught:
        load_boards().get("nope")
    assert "raspberry_pi_pico" in caught.value.hint
