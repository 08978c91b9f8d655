"""The board-fit verdict: arithmetic from the board's TOML, levels and wording from the engine."""

from __future__ import annotations

import sys

from workbench.core.arena import recommended_arena
from workbench.core.fit import BAD, GOOD, TIGHT, UNKNOWN, fit, usage_level
from workbench.plugins import builtin_plugin_dir, load_boards

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _nano() -> tuple[dict[str, int], object]:
    path = builtin_plugin_dir() / "boards" / "arduino_nano33_ble_sense.toml"
    return tomllib.loads(path.read_text()), load_boards().get("arduino_nano33_ble_sense")


def test_fit_is_the_arithmetic_of_the_toml() -> None:
    raw, board = _nano()
    result = fit(300_568, 85_264, board, runs=True)  # type: ignore[arg-type]
    assert result.flash_used_pct == round(100 * 300_568 / (raw["flash_kb"] * 1024), 2)
    reserved = 92 * 1024  # what firmware reserves for 85,264 measured bytes: +10%, whole KB
    assert result.ram_bytes == reserved == recommended_arena(85_264)
    assert result.ram_used_pct == round(100 * reserved / (raw["ram_kb"] * 1024), 2)
    assert result.flash_headroom_bytes == raw["flash_kb"] * 1024 - 300_568
    assert result.flash_ok and result.ram_ok and result.fits
    too_big = fit(raw["flash_kb"] * 1024 + 1, raw["ram_kb"] * 1024 + 1, board, runs=True)  # type: ignore[arg-type]
    assert not too_big.flash_ok and not too_big.ram_ok and not too_big.fits
    assert too_big.level == BAD and "not enough flash or RAM" in too_big.verdict


def test_a_model_that_tflm_cannot_run_does_not_fit_however_small() -> None:
    _, board = _nano()
    result = fit(10_000, 2_000, board, runs=False, problem="TFLM cannot dequantize float16")  # type: ignore[arg-type]
    assert result.flash_ok and result.ram_ok
    assert not result.fits and result.level == BAD
    assert result.verdict.startswith("Does not run on Arduino Nano 33 BLE Sense")
    assert "float16" in result.verdict


def test_unknown_ram_or_unchecked_runtime_is_never_called_a_fit() -> None:
    _, board = _nano()
    unmeasured = fit(10_000, None, board, runs=None)  # type: ignore[arg-type]
    assert unmeasured.level == UNKNOWN and not unmeasured.fits and "RAM unknown" in unmeasured.verdict
    unchecked = fit(10_000, 2_000, board, runs=None)  # type: ignore[arg-type]
    assert unchecked.level == UNKNOWN and "not yet checked" in unchecked.verdict


def test_levels_follow_the_share_of_memory_used() -> None:
    raw, board = _nano()
    flash = raw["flash_kb"] * 1024
    assert usage_level(None) == UNKNOWN
    assert usage_level(75.0) == GOOD and usage_level(75.1) == TIGHT and usage_level(100.1) == BAD
    tight = fit(int(flash * 0.9), 1_000, board, runs=True)  # type: ignore[arg-type]
    assert tight.fits and tight.level == TIGHT and "tightly" in tight.verdict
    assert fit(1_000, 1_000, board, runs=True).level == GOOD  # type: ignore[arg-type]
