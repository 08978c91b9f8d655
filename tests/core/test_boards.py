"""Boards as TOML data, user boards, malformed files, and where each board came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.core.boards import FLASHERS
from workbench.plugins import builtin_plugin_dir, load_boards, user_plugin_dir

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


def test_user_board_is_added_and_malformed_ones_are_skipped(isolated_home: Path) -> None:
    folder = user_plugin_dir() / "boards"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "my_board.toml").write_text(
        'name = "My Board"\nmcu = "STM32F411"\nclock_mhz = 100\nflash_kb = 512\nram_kb = 128\n'
        'usb_ids = ["0483:5740"]\n[flash]\nflasher = "dfu-util"\n'
    )
    (folder / "broken.toml").write_text("name = 'Broken\nflash_kb = ")
    (folder / "no_ram.toml").write_text('name = "No RAM"\nmcu = "X"\nclock_mhz = 1\nflash_kb = 1\n')
    (folder / "odd_baud.toml").write_text(
        'name = "Odd"\nmcu = "X"\nclock_mhz = 1\nflash_kb = 1\nram_kb = 1\nbaud = [1]\n'
    )
    board = 'name = "S"\nmcu = "X"\nclock_mhz = 1\nflash_kb = 1\nram_kb = 1\n[flash]\n'
    (folder / "odd_slot.toml").write_text(board + 'model_offset = "slot"\n')
    (folder / "odd_slot_size.toml").write_text(board + 'model_offset = "0x1000"\nmodel_slot_kb = -4\n')
    try:
        catalog = load_boards()
        assert catalog.get("my_board").flash_kb == 512
        problems = {Path(p.path).name: p.message for p in catalog.problems}
        assert "not valid TOML" in problems["broken.toml"]
        assert "missing 'ram_kb'" in problems["no_ram.toml"]
        assert "'baud' has the wrong type" in problems["odd_baud.toml"]
        assert "'model_offset' 'slot' is not an address" in problems["odd_slot.toml"]
        assert "'model_slot_kb' must be a whole number of KB" in problems["odd_slot_size.toml"]
        assert "broken" not in catalog.boards
    finally:
        for name in (
            "my_board.toml",
            "broken.toml",
            "no_ram.toml",
            "odd_baud.toml",
            "odd_slot.toml",
            "odd_slot_size.toml",
        ):
            (folder / name).unlink()


def test_unknown_board_lists_known_ones() -> None:
    from workbench.core.errors import WorkbenchError

    with pytest.raises(WorkbenchError) as caught:
        load_boards().get("nope")
    assert "raspberry_pi_pico" in caught.value.hint


def test_each_board_says_where_it_came_from_and_a_user_file_overrides_a_built_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TINYML_WORKBENCH_HOME", str(tmp_path / "home"))
    builtin = builtin_plugin_dir() / "boards"
    user = tmp_path / "home" / "plugins" / "boards"
    user.mkdir(parents=True)
    pico = (builtin / "raspberry_pi_pico.toml").read_text()
    (user / "raspberry_pi_pico.toml").write_text(pico.replace("ram_kb = 264", "ram_kb = 200"))
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "lab_pico.toml").write_text(pico.replace('name = "Raspberry Pi Pico"', 'name = "Lab Pico"'))

    catalog = load_boards(extra_folders=[extra])
    assert catalog.problems == []
    nano = catalog.get("arduino_nano33_ble_sense")
    assert (nano.origin, nano.source) == ("built-in", str(builtin / "arduino_nano33_ble_sense.toml"))
    overridden = catalog.get("raspberry_pi_pico")
    assert (overridden.origin, overridden.source, overridden.ram_kb) == (
        "user",
        str(user / "raspberry_pi_pico.toml"),
        200,
    )
    lab = catalog.get("lab_pico")
    assert (lab.origin, lab.name) == ("user", "Lab Pico")
    assert nano.to_json()["origin"] == "built-in"
