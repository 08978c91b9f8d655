"""One sentence for a name nobody knows, with the closest ones (workbench/core/names.py), as the
CLI, the session and the plugin registry give it for boards, flashers and parsers."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli
from workbench.core.errors import WorkbenchError
from workbench.core.names import closest
from workbench.monitor.parse import parser_named
from workbench.plugins import load_boards, registry


@pytest.mark.parametrize(
    ("asked", "suggested"),
    [
        ("pico", ["raspberry_pi_pico", "raspberry_pi_pico2"]),  # part of the id
        ("raspbery_pi_pico", ["raspberry_pi_pico", "raspberry_pi_pico2"]),  # a typo
        ("PORTENTA", ["arduino_portenta_h7"]),  # case aside
        ("nrf52", ["xiao_nrf52840_sense"]),
        ("STM32F746", ["nucleo_f746zg"]),  # found by its chip, not its id
        ("xyz", []),
        ("pi", []),  # too short to say
    ],
)
def test_an_unknown_board_names_the_closest_shipped_ones(asked: str, suggested: list[str]) -> None:
    with pytest.raises(WorkbenchError) as refused:
        load_boards().get(asked)
    message = refused.value.message
    if suggested:
        assert message == f"unknown board '{asked}' (did you mean " + " or ".join(f"'{s}'" for s in suggested) + "?)"
    else:
        assert message == f"unknown board '{asked}'"
    assert "raspberry_pi_pico" in refused.value.hint, "the hint lists every board"


def test_flashers_and_parsers_are_suggested_the_same_way() -> None:
    with pytest.raises(WorkbenchError, match=r"unknown flasher 'esptol' \(did you mean 'esptool'\?\)"):
        registry().catalog().get("flasher", "esptol")
    with pytest.raises(WorkbenchError, match=r"unknown parser 'ardiuno' \(did you mean 'arduino'\?\)"):
        parser_named(registry().parsers(), "ardiuno")


def test_closest_keeps_its_order_and_count() -> None:
    known = ["alpha_one", "alpha_two", "alpha_three", "alpha_four", "beta"]
    assert closest("alpha", known) == ["alpha_one", "alpha_two", "alpha_three"]
    assert closest("bta", known) == ["beta"]
    assert closest("", known) == []


def test_the_cli_suggests_the_board_in_one_line() -> None:
    done = run_cli("analyze", "resources/samples/digits_int8.tflite", "--board", "pico", "--no-tflm", timeout=120)
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == (
        "error: unknown board 'pico' (did you mean 'raspberry_pi_pico' or 'raspberry_pi_pico2'?)"
    )
