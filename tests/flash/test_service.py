"""The flash service: choosing the flasher, checks before anything is touched, the dry run, model-only slots."""

from __future__ import annotations

import struct
import textwrap
import zlib
from pathlib import Path

import pytest

from workbench.core.errors import WorkbenchError
from workbench.flash.service import FlashRequest, flash, plan, slot_file
from workbench.plugins import load_boards, registry
from workbench.tasks import Task

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "samples" / "digits_int8.tflite"

RECORDING_FLASHER = """
import json, os
from workbench.flash.api import Availability, Flasher, Step

class Recorder(Flasher):
    name = "recorder"
    description = "Writes down what it was asked to flash"
    def available(self):
        if os.environ.get("RECORDER_MISSING"):
            return Availability(ok=False, missing="the recorder tool is not installed", hint="pip install recorder")
        return Availability(ok=True)
    def plan(self, job):
        return [Step(f"Record {job.firmware.name}", ("recorder", str(job.firmware), hex(job.address or 0)))]
    def flash(self, job, task):
        task.log("recording")
        task.progress(0.5, "half")
        seen = job.firmware.with_name("seen-" + job.firmware.name)
        seen.write_bytes(job.firmware.read_bytes())
        os.environ["RECORDED"] = json.dumps([str(seen), job.address, job.port, job.drive])
"""


@pytest.fixture()
def recorder(isolated_home: Path) -> str:
    folder = isolated_home / "plugins" / "flashers"
    folder.mkdir(parents=True)
    (folder / "recorder.py").write_text(textwrap.dedent(RECORDING_FLASHER))
    return "recorder"


@pytest.fixture(scope="module")
def pico():  # type: ignore[no-untyped-def]
    return load_boards().get("raspberry_pi_pico")


def test_model_only_dry_run_names_the_slot_file_and_address_and_writes_nothing(recorder: str, pico) -> None:  # type: ignore[no-untyped-def]
    request = FlashRequest(SAMPLE, pico, flasher=recorder, model_only=True)
    steps = plan(request, registry())
    assert "0x10100000" in steps[0].description and str(slot_file(SAMPLE)) in steps[0].description
    assert steps[1].command == ("recorder", str(slot_file(SAMPLE)), "0x10100000")
    assert not slot_file(SAMPLE).exists(), "a dry run touches nothing"


def test_model_only_flash_writes_a_slot_image_holding_the_model_at_the_boards_offset(
    recorder: str,
    pico,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    import json
    import os

    monkeypatch.delenv("RECORDED", raising=False)
    lines: list[str] = []
    result = flash(FlashRequest(SAMPLE, pico, flasher=recorder, model_only=True), registry(), Task(on_log=lines.append))
    firmware, address, _port, _drive = json.loads(os.environ["RECORDED"])
    assert address == 0x10100000 and lines == ["recording"]
    image = Path(firmware).read_bytes()
    model = SAMPLE.read_bytes()
    assert image.find(model) > 0, "the model travels whole inside the slot image"
    assert zlib.crc32(model) in struct.unpack_from("<4I", image), "its CRC-32 is in the slot header"
    assert result.message.startswith("Flashed digits_int8.tflite to Raspberry Pi Pico")
    assert not slot_file(SAMPLE).exists(), "the slot image made for this flash is gone after it"


def test_model_only_refuses_a_file_that_is_not_a_model(recorder: str, pico, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    firmware = tmp_path / "app.bin"
    firmware.write_bytes(b"\x00" * 64)
    with pytest.raises(WorkbenchError, match="app.bin: not a .tflite model"):
        plan(FlashRequest(firmware, pico, flasher=recorder, model_only=True), registry())


def test_model_only_on_a_board_without_a_slot_says_so(recorder: str) -> None:
    board = load_boards().get("nucleo_f746zg")
    assert not board.model_offset
    with pytest.raises(WorkbenchError, match="has no model slot"):
        plan(FlashRequest(SAMPLE, board, flasher=recorder, model_only=True), registry())


def test_unknown_flasher_missing_file_missing_port_and_unavailable_tool_are_one_sentence_each(
    recorder: str,
    pico,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    with pytest.raises(WorkbenchError, match="unknown flasher 'nope'"):
        plan(FlashRequest(SAMPLE, pico, flasher="nope"), registry())
    with pytest.raises(WorkbenchError, match="missing.uf2: no such file or folder"):
        plan(FlashRequest(tmp_path / "missing.uf2", pico, flasher=recorder), registry())
    with pytest.raises(WorkbenchError, match="/dev/ttyNOPE0: no such port"):
        plan(FlashRequest(SAMPLE, pico, port="/dev/ttyNOPE0", flasher=recorder, model_only=True), registry())
    monkeypatch.setenv("RECORDER_MISSING", "1")
    with pytest.raises(WorkbenchError, match="recorder cannot run here: the recorder tool is not installed") as error:
        flash(FlashRequest(SAMPLE, pico, flasher=recorder, model_only=True), registry(), Task())
    assert error.value.hint == "pip install recorder"


def test_a_dry_run_with_the_tool_missing_still_shows_the_command_after_saying_what_to_install(
    recorder: str,
    pico,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("RECORDER_MISSING", "1")
    firmware = tmp_path / "app.bin"
    firmware.write_bytes(bytes(64))
    first, second = plan(FlashRequest(firmware, pico, flasher=recorder), registry())
    assert first.description.startswith("Not ready on this computer: the recorder tool is not installed")
    assert "pip install recorder" in first.description
    assert second.command == ("recorder", str(firmware), "0x0")


def test_an_exported_project_goes_to_the_tool_that_builds_it(tmp_path: Path, pico) -> None:  # type: ignore[no-untyped-def]
    from workbench.flash.service import flasher_name

    sketch = tmp_path / "sketch"
    sketch.mkdir()
    (sketch / "sketch.ino").write_text("void setup() {}\nvoid loop() {}\n")
    project = tmp_path / "pio"
    project.mkdir()
    (project / "platformio.ini").write_text("[env:pico]\nboard = pico\n")
    library = tmp_path / "lib.zip"
    library.write_bytes(b"PK")
    assert flasher_name(FlashRequest(library, pico)) == "arduino-cli"
    assert flasher_name(FlashRequest(sketch, pico)) == "arduino-cli"
    assert flasher_name(FlashRequest(project, pico)) == "platformio"
    assert flasher_name(FlashRequest(SAMPLE, pico, model_only=True)) == pico.flasher == "uf2"
    assert flasher_name(FlashRequest(project, pico, flasher="uf2")) == "uf2", "the one asked for wins"


def test_a_model_given_as_firmware_or_a_source_folder_is_refused_before_the_board_is_touched(
    recorder: str,
    pico,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    with pytest.raises(WorkbenchError, match="is a model, not firmware") as error:
        plan(FlashRequest(SAMPLE, pico, flasher=recorder), registry())
    assert "--model-only" in error.value.hint
    source = tmp_path / "c"
    source.mkdir()
    (source / "model_data.h").write_text("/* */\n")
    with pytest.raises(WorkbenchError, match="is a folder, not a firmware file"):
        plan(FlashRequest(source, pico, flasher=recorder), registry())
    with pytest.raises(WorkbenchError, match="is a folder, not a .tflite model"):
        plan(FlashRequest(source, pico, flasher=recorder, model_only=True), registry())


def test_a_model_too_big_for_the_slot_is_refused_in_the_dry_run_too(recorder: str, pico, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    big = tmp_path / "big.tflite"
    model = SAMPLE.read_bytes()
    big.write_bytes(model + bytes(1_100_000))  # 1 MB from 0x10100000 to the end of the Pico's 2 MB
    for attempt in (lambda request: plan(request, registry()), lambda request: flash(request, registry(), Task())):
        with pytest.raises(WorkbenchError, match="big.tflite does not fit the model slot of Raspberry Pi Pico"):
            attempt(FlashRequest(big, pico, flasher=recorder, model_only=True))
    assert not slot_file(big).exists()


def test_a_slot_of_a_stated_size_refuses_a_model_larger_than_it(recorder: str, tmp_path: Path) -> None:
    """The ESP32's slot is its 1,408 KB spiffs partition, not the flash from 0x290000 to the end."""
    esp32 = load_boards().get("esp32s3_devkitc")
    assert esp32.model_slot_kb == 1408 and esp32.model_slot_in_partition
    big = tmp_path / "big.tflite"
    big.write_bytes(SAMPLE.read_bytes() + bytes(1408 * 1024))
    with pytest.raises(WorkbenchError, match=r"does not fit the model slot of ESP32-S3-DevKitC-1: .* its 1408.0 KB"):
        plan(FlashRequest(big, esp32, flasher=recorder, model_only=True), registry())


def test_a_model_in_memory_goes_to_the_slot_only_when_it_can_run_there(  # type: ignore[no-untyped-def]
    recorder: str, pico, monkeypatch: pytest.MonkeyPatch
) -> None:
    """flash_model (the Deploy page's 'Only the model') checks what any deploy checks, measured
    by TFLM's own interpreter, and the slot, before a flasher is asked: a board with too little
    RAM for the arena, a slot too small; then the same model flashes where it fits."""
    import dataclasses
    import json
    import os

    from workbench.export.api import deploy_model_from_file
    from workbench.flash.service import flash_model, model_only_refusal

    model = deploy_model_from_file(SAMPLE)  # measured: its arena is known
    assert model.analysis.tflm is not None
    monkeypatch.delenv("RECORDED", raising=False)
    cramped = dataclasses.replace(pico, name="Cramped Pico", ram_kb=1)
    narrow = dataclasses.replace(pico, name="Narrow Pico", model_slot_kb=1)
    for board, words in (
        (cramped, "does not fit Cramped Pico: "),
        (narrow, "does not fit the model slot of Narrow Pico"),
    ):
        refusal = model_only_refusal(model, board)
        assert refusal is not None and words in refusal.message
        with pytest.raises(WorkbenchError, match=words):
            flash_model(model, FlashRequest(SAMPLE, board, flasher=recorder, model_only=True), registry(), Task())
        assert "RECORDED" not in os.environ, "no flasher was asked"
    assert model_only_refusal(model, pico) is None
    flash_model(model, FlashRequest(SAMPLE, pico, flasher=recorder, model_only=True), registry(), Task())
    assert json.loads(os.environ["RECORDED"])[1] == 0x10100000
