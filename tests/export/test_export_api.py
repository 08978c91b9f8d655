"""export(): checks before writing, and a whole export or nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from workbench.core.boards import Board
from workbench.core.errors import WorkbenchError
from workbench.export import api, staging
from workbench.export.api import (
    DeployModel,
    ExportOptions,
    c_name,
    deploy_model_from_file,
    deploy_refusal,
    export,
    not_measured,
)
from workbench.plugins import load_boards
from workbench.tasks import Task

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "samples" / "digits_int8.tflite"


def tiny_board(flash_kb: int = 1, ram_kb: int = 1) -> Board:
    return Board("tiny", "Tiny Board", "T1", "Cortex-M0", 16, flash_kb, ram_kb, [], 115200, "uf2")


@pytest.fixture(scope="module")
def sample() -> DeployModel:
    return deploy_model_from_file(SAMPLE, measure=False)


def failing_after_two_files(model: DeployModel, options: ExportOptions, folder: Path, task: Task) -> list[str]:
    (folder / "model_data.h").write_text("// half\n")
    (folder / "src").mkdir()
    (folder / "src" / "main.cpp").write_text("int main() {}\n")
    raise WorkbenchError("the writer failed half-way")


def two_files(model: DeployModel, options: ExportOptions, folder: Path, task: Task) -> list[str]:
    (folder / "model_data.h").write_text(f"// {model.name}\n")
    (folder / "src").mkdir()
    (folder / "src" / "main.cpp").write_text("int main() {}\n")
    return ["a note"]


def test_a_failing_writer_leaves_no_folder_and_no_staging_behind(
    sample: DeployModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api, "writer", lambda _format: failing_after_two_files)
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(WorkbenchError, match="half-way"):
        export(sample, ExportOptions("c", work / "new" / "deeper" / "out"), Task())
    assert list(work.iterdir()) == [], "folders created for the export are removed again, no staging left"


def test_a_failing_writer_leaves_an_existing_folder_as_it_was(
    sample: DeployModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "work" / "out"
    target.mkdir(parents=True)
    (target / "model_data.h").write_text("// the previous export\n")
    monkeypatch.setattr(api, "writer", lambda _format: failing_after_two_files)
    with pytest.raises(WorkbenchError):
        export(sample, ExportOptions("c", target), Task())
    assert (target / "model_data.h").read_text() == "// the previous export\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out"]


def test_export_moves_every_file_into_place_and_lists_them(
    sample: DeployModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api, "writer", lambda _format: two_files)
    target = tmp_path / "work" / "out"
    target.mkdir(parents=True)
    (target / "keep.txt").write_text("mine")
    result = export(sample, ExportOptions("c", target), Task())
    assert result.files == [target / "model_data.h", target / "src" / "main.cpp"]
    assert (target / "model_data.h").read_text() == f"// {sample.name}\n"
    assert (target / "keep.txt").read_text() == "mine", "other files in the folder are left alone"
    assert result.notes == ["a note"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["out"], "no staging folder left"


def test_a_model_too_big_for_the_board_is_refused_before_anything_is_written(
    sample: DeployModel, tmp_path: Path
) -> None:
    board = tiny_board(flash_kb=1)
    over = len(sample.tflite) - board.flash_bytes
    with pytest.raises(WorkbenchError) as refused:
        export(sample, ExportOptions("c", tmp_path / "out", board), Task())
    message = refused.value.message
    assert "does not fit Tiny Board" in message and "over its 1.0 KB of flash" in message
    assert f"{over / 1024:.1f} KB" in message, "says how much it is over"
    assert not (tmp_path / "out").exists()


def test_the_report_is_written_even_for_a_board_the_model_does_not_fit(
    sample: DeployModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api, "writer", lambda _format: two_files)
    export(sample, ExportOptions("report", tmp_path / "out", tiny_board()), Task())
    assert (tmp_path / "out" / "model_data.h").exists()


@pytest.mark.parametrize("symbol", ["2model", "model-data", "int", "class", "", "try", "and", "main", "_Bool"])
def test_a_symbol_that_cannot_name_a_c_array_is_refused(sample: DeployModel, tmp_path: Path, symbol: str) -> None:
    with pytest.raises(WorkbenchError, match="cannot name a C array"):
        export(sample, ExportOptions("c", tmp_path / "out", symbol=symbol), Task())
    assert not (tmp_path / "out").exists()


def test_unknown_format_and_language_are_one_sentence_each(sample: DeployModel, tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="unknown export format 'zip'"):
        export(sample, ExportOptions("zip", tmp_path / "out"), Task())
    with pytest.raises(WorkbenchError, match="unknown language 'rust'"):
        export(sample, ExportOptions("c", tmp_path / "out", language="rust"), Task())


def test_an_output_path_that_is_a_file_or_cannot_be_created_is_one_sentence(
    sample: DeployModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api, "writer", lambda _format: two_files)
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(WorkbenchError, match="is a file, not a folder"):
        export(sample, ExportOptions("c", afile), Task())
    with pytest.raises(WorkbenchError, match="cannot write there"):
        export(sample, ExportOptions("c", afile / "under" / "it"), Task())
    assert afile.read_text() == "x"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes to any folder")
def test_an_output_folder_without_write_permission_is_refused(
    sample: DeployModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api, "writer", lambda _format: two_files)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(WorkbenchError, match="cannot write there"):
            export(sample, ExportOptions("c", locked / "out"), Task())
    finally:
        locked.chmod(0o700)
    assert list(locked.iterdir()) == []


def test_an_existing_folder_the_system_refuses_to_write_is_one_sentence(
    sample: DeployModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As root a read-only folder is writable, so the system's refusal is simulated at its seam."""
    monkeypatch.setattr(api, "writer", lambda _format: two_files)
    target = tmp_path / "work" / "out"
    target.mkdir(parents=True)
    monkeypatch.setattr(staging.os, "access", lambda path, mode: Path(path) != target)
    with pytest.raises(WorkbenchError, match=r"cannot write there \(Permission denied\)"):
        export(sample, ExportOptions("c", target), Task())
    assert list(target.iterdir()) == [] and sorted(p.name for p in target.parent.iterdir()) == ["out"]


def test_c_name_makes_file_and_c_friendly_stems() -> None:
    assert c_name("digits-int8 (2)") == "digits_int8_2"
    assert c_name("8bit") == "model_8bit"
    assert c_name("---") == "model"


def c_then_cpp(language: str):  # type: ignore[no-untyped-def]
    def write(model: DeployModel, options: ExportOptions, folder: Path, task: Task) -> list[str]:
        (folder / "model_data.h").write_text(f"// {language}\n")
        (folder / "src").mkdir()
        (folder / "src" / f"model_data.{language}").write_text("// data\n")
        return []

    return write


def test_exporting_again_removes_what_the_last_export_wrote_and_this_one_does_not(
    sample: DeployModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "work" / "out"
    monkeypatch.setattr(api, "writer", lambda _format: c_then_cpp("cc"))
    first = export(sample, ExportOptions("c", target), Task())
    assert (target / "src" / "model_data.cc").is_file() and oct(target.stat().st_mode & 0o777) == "0o755"
    (target / "notes.txt").write_text("mine")
    monkeypatch.setattr(api, "writer", lambda _format: c_then_cpp("c"))
    second = export(sample, ExportOptions("c", target), Task())
    assert [p.name for p in first.files] == ["model_data.h", "model_data.cc"]
    assert [p.name for p in second.files] == ["model_data.h", "model_data.c"]
    on_disk = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert on_disk == [staging.MANIFEST, "model_data.h", "notes.txt", "src/model_data.c"]


@pytest.mark.parametrize("symbol", ["kTensorArenaSize", "kModelLabels", "model_slot_find", "MODEL_INPUT_SCALE", "__x"])
def test_a_symbol_the_generated_code_uses_itself_is_refused(sample: DeployModel, tmp_path: Path, symbol: str) -> None:
    with pytest.raises(WorkbenchError, match="the generated code or the compiler uses that name"):
        export(sample, ExportOptions("c", tmp_path / "out", symbol=symbol), Task())


def test_files_no_export_wrote_are_not_replaced_unless_asked(
    sample: DeployModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api, "writer", lambda _format: two_files)
    target = tmp_path / "work" / "my_project"
    (target / "src").mkdir(parents=True)
    (target / "src" / "main.cpp").write_text("// my own code\n")
    with pytest.raises(
        staging.WouldReplace, match=r"already holds src/main.cpp, which this export would replace"
    ) as error:
        export(sample, ExportOptions("c", target), Task())
    assert error.value.files == ["src/main.cpp"]
    assert (target / "src" / "main.cpp").read_text() == "// my own code\n" and not (target / "model_data.h").exists()
    export(sample, ExportOptions("c", target, replace=True), Task())
    assert (target / "src" / "main.cpp").read_text() == "int main() {}\n"
    export(sample, ExportOptions("c", target), Task())  # now the export's own: replaced without asking


@pytest.mark.slow
def test_a_model_tflm_cannot_run_is_refused_for_a_board_and_a_report_is_still_written(
    built_models: Path, tmp_path: Path
) -> None:
    """A float16 model (TFLM cannot dequantize float16), measured by TFLM's own interpreter: code
    for a board is refused with the first problem, before anything is written."""
    model = deploy_model_from_file(built_models / "small_cnn_float16.tflite")
    board = load_boards().get("raspberry_pi_pico")
    refusal = deploy_refusal(model, board)
    assert refusal is not None and refusal.message.startswith("TFLM cannot run small_cnn_float16: ")
    assert "float16" in refusal.message
    with pytest.raises(WorkbenchError, match="TFLM cannot run small_cnn_float16"):
        export(model, ExportOptions("arduino", tmp_path / "out", board), Task())
    assert not (tmp_path / "out").exists()
    export(model, ExportOptions("report", tmp_path / "report", board), Task())
    assert any((tmp_path / "report").iterdir())


def test_before_tflm_measured_only_the_flash_is_judged(sample: DeployModel) -> None:
    assert sample.analysis.tflm is None
    assert "not yet measured" in not_measured(sample)
    assert deploy_refusal(sample, tiny_board(flash_kb=1024)) is None
    refusal = deploy_refusal(sample, tiny_board(flash_kb=1))
    assert refusal is not None and "over its 1.0 KB of flash" in refusal.message
