"""Arduino library, PlatformIO and CMake projects: what their files say, and that the programs
compile (g++ -fsyntax-only, -Wall -Wextra -Werror) against the real generated model files and a
stand-in of TFLM's headers (tests/export/standin_tflm)."""

from __future__ import annotations

import configparser
import dataclasses
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from workbench.core.boards import Board, board_from_toml
from workbench.core.errors import WorkbenchError
from workbench.export import arduino, cmake, platformio
from workbench.export.api import DeployModel, ExportOptions
from workbench.export.tflm_libraries import library_for
from workbench.tasks import Task

ROOT = Path(__file__).resolve().parents[2]
BOARDS = ROOT / "plugins" / "boards"
STANDIN = Path(__file__).resolve().parent / "standin_tflm"
GXX = shutil.which("g++")
CMAKE = shutil.which("cmake")
needs_gxx = pytest.mark.skipif(GXX is None, reason="g++ is not installed")
Writer = Callable[[DeployModel, ExportOptions, Path, Task], list[str]]


@pytest.fixture(scope="module")
def models(deploy_model_factory: Callable[..., DeployModel]) -> dict[str, DeployModel]:
    """The reference models as analyzed (not measured: the projects need no arena figure)."""
    return {name: deploy_model_factory(name) for name in ("hello_world_int8", "person_detect", "digits_int8")}


def board(board_id: str) -> Board:
    return board_from_toml(BOARDS / f"{board_id}.toml")


def export(write: Writer, model: DeployModel, folder: Path, board_id: str | None, **options: str) -> list[str]:
    folder.mkdir(parents=True)
    chosen = board(board_id) if board_id else None
    return write(model, ExportOptions("x", folder, chosen, **options), folder, Task())


def unzip(folder: Path) -> tuple[Path, zipfile.ZipFile]:
    """The library's one .zip in `folder`, extracted beside it: (its top folder, the zip)."""
    (archive_path,) = folder.glob("*.zip")
    archive = zipfile.ZipFile(archive_path)
    archive.extractall(folder / "unzipped")
    (top,) = (folder / "unzipped").iterdir()
    return top, archive


def properties(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return {key: value for key, value in pairs}


def syntax_check(
    source: Path,
    *include_dirs: Path,
    sketch: bool = False,
    defines: tuple[str, ...] = (),
    compiler: tuple[str, ...] = ("g++",),
) -> None:
    """g++ -fsyntax-only with every warning an error; a sketch is C++ with Arduino.h included first,
    as the Arduino builder does."""
    argv = [*compiler, "-fsyntax-only", "-std=c++17", "-Wall", "-Wextra", "-Werror"]
    if sketch:
        argv += ["-x", "c++", "-include", "Arduino.h"]
    argv += [f"-D{d}" for d in defines] + [f"-I{STANDIN}"] + [f"-I{d}" for d in include_dirs] + [str(source)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{source.name} does not compile:\n{done.stderr[-4000:]}"


def model_bytes(source: Path, symbol: str = "g_model") -> bytes:
    """The bytes of the array `symbol` in a generated model_data source, read back from the text."""
    text = source.read_text(encoding="ascii")
    body = re.search(rf"{symbol}\[\]\s*=\s*\{{(.*?)\}};", text, re.S)
    assert body, f"no {symbol}[] array in {source.name}"
    return bytes(int(value, 16) for value in re.findall(r"0x([0-9a-fA-F]{2})", body.group(1)))


# --- Arduino library ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("board_id", "architecture"),
    [("esp32_devkitc", "esp32"), ("arduino_nano33_ble_sense", "mbed_nano")],
)
def test_arduino_zip_depends_on_the_maintained_tflm_library_of_the_board_family(
    models: dict[str, DeployModel], tmp_path: Path, board_id: str, architecture: str
) -> None:
    """ESP32 and Nano 33 BLE libraries depend on Chirale_TensorFLowLite (the Library Manager's
    maintained TFLM for both cores; TensorFlowLite_ESP32 is abandoned), and the sketch includes its
    header first."""
    notes = export(arduino.write, models["hello_world_int8"], tmp_path / "out", board_id)
    top, archive = unzip(tmp_path / "out")
    assert {name.split("/")[0] for name in archive.namelist()} == {top.name} == {"hello_world_int8_model"}
    props = properties(top / "library.properties")
    for key in ("name", "version", "author", "maintainer", "sentence", "paragraph", "category", "url"):
        assert props[key], f"library.properties has an empty {key}"
    assert props["name"] == top.name
    assert props["depends"] == "Chirale_TensorFLowLite" == library_for(board(board_id)).name
    assert props["architectures"] == architecture
    assert props["includes"] == "model_data.h"
    (sketch,) = top.glob("examples/*/*.ino")
    assert sketch.stem == sketch.parent.name, "the Arduino IDE opens a sketch only in a folder of its name"
    assert "#include <Chirale_TensorFlowLite.h>" in sketch.read_text()
    assert any("Chirale_TensorFLowLite" in note for note in notes)


def test_arduino_zip_for_a_core_no_library_manager_tflm_serves_has_no_depends(
    models: dict[str, DeployModel], tmp_path: Path
) -> None:
    """Wio Terminal (Seeed SAMD core): no Library Manager TFLM lists it, so library.properties depends
    on nothing and the notes say where TFLM's own Arduino library comes from."""
    notes = export(arduino.write, models["hello_world_int8"], tmp_path / "out", "wio_terminal")
    top, _ = unzip(tmp_path / "out")
    props = properties(top / "library.properties")
    assert "depends" not in props
    assert props["architectures"] == "samd"
    (sketch,) = top.glob("examples/*/*.ino")
    assert "#include <TensorFlowLite.h>" in sketch.read_text()
    assert any("github.com/tensorflow/tflite-micro-arduino-examples" in note for note in notes)


def test_arduino_zip_holds_the_model_files_and_its_bytes_decode_back_to_the_tflite(
    models: dict[str, DeployModel], tmp_path: Path
) -> None:
    model = models["digits_int8"]
    export(arduino.write, model, tmp_path / "out", "arduino_nano33_ble_sense")
    top, archive = unzip(tmp_path / "out")
    files = {name.removeprefix(f"{top.name}/") for name in archive.namelist() if not name.endswith("/")}
    assert files == {
        "library.properties",
        "src/model_data.h",
        "src/model_data.cpp",
        "src/model_ops.h",
        "examples/digits_int8_inference/digits_int8_inference.ino",
    }, "no .cc in a library: the Arduino IDE 1.x compiles .c and .cpp only"
    assert model_bytes(top / "src" / "model_data.cpp") == model.tflite
    labels = re.findall(r'"([^"]*)"', (top / "src" / "model_data.cpp").read_text().split("kModelLabels")[1])
    assert labels == list(model.labels) == [str(digit) for digit in range(10)]


def test_arduino_zip_is_the_same_for_the_same_model(models: dict[str, DeployModel], tmp_path: Path) -> None:
    export(arduino.write, models["hello_world_int8"], tmp_path / "a", "esp32_devkitc")
    export(arduino.write, models["hello_world_int8"], tmp_path / "b", "esp32_devkitc")
    (first,) = (tmp_path / "a").glob("*.zip")
    assert first.read_bytes() == (tmp_path / "b" / first.name).read_bytes()


@needs_gxx
@pytest.mark.parametrize(
    ("model_name", "board_id"),
    [
        ("hello_world_int8", "esp32_devkitc"),
        ("person_detect", "arduino_nano33_ble_sense"),
        ("digits_int8", "wio_terminal"),
    ],
)
@pytest.mark.parametrize("input_from_serial", ["1", "0"])
def test_arduino_sketch_compiles_with_the_generated_model_files(
    models: dict[str, DeployModel], tmp_path: Path, model_name: str, board_id: str, input_from_serial: str
) -> None:
    """Both input sources: lines of numbers from serial, and the sensor stub."""
    export(arduino.write, models[model_name], tmp_path / "out", board_id)
    top, _ = unzip(tmp_path / "out")
    (sketch,) = top.glob("examples/*/*.ino")
    syntax_check(sketch, top / "src", sketch=True, defines=(f"INPUT_FROM_SERIAL={input_from_serial}",))
    syntax_check(top / "src" / "model_data.cpp", top / "src")


@pytest.mark.skipif(shutil.which("arm-none-eabi-g++") is None, reason="arm-none-eabi-g++ is not installed")
def test_arduino_sketch_compiles_for_a_cortex_m4(models: dict[str, DeployModel], tmp_path: Path) -> None:
    """The Nano 33 BLE's compiler (32-bit int and long, newlib): same sketch, no warning."""
    export(arduino.write, models["person_detect"], tmp_path / "out", "arduino_nano33_ble_sense")
    top, _ = unzip(tmp_path / "out")
    (sketch,) = top.glob("examples/*/*.ino")
    arm = ("arm-none-eabi-g++", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16")
    for serial in ("1", "0"):
        syntax_check(sketch, top / "src", sketch=True, defines=(f"INPUT_FROM_SERIAL={serial}",), compiler=arm)


@needs_gxx
def test_sketch_for_a_board_with_a_model_slot_reads_the_slot_and_compiles(
    models: dict[str, DeployModel], tmp_path: Path
) -> None:
    """Raspberry Pi Pico has a model slot: the library carries the slot reader, built for the board's
    model_offset, and the sketch takes its model from there."""
    pico = board("raspberry_pi_pico")
    export(arduino.write, models["hello_world_int8"], tmp_path / "out", "raspberry_pi_pico")
    top, _ = unzip(tmp_path / "out")
    slot_header = (top / "src" / "model_slot.h").read_text()
    assert f"#define MODEL_SLOT_ADDRESS 0x{int(pico.model_offset, 0):08X}u" in slot_header
    assert (top / "src" / "model_slot.cpp").is_file()
    (sketch,) = top.glob("examples/*/*.ino")
    assert '#include "model_slot.h"' in sketch.read_text()
    syntax_check(sketch, top / "src", sketch=True)
    syntax_check(top / "src" / "model_slot.cpp", top / "src")


def test_sensor_stub_sweeps_the_range_the_quantized_input_can_hold(
    models: dict[str, DeployModel], tmp_path: Path
) -> None:
    """hello_world's input is int8: the stub sweeps scale*(-128-zp) .. scale*(127-zp), read here
    from the generated model_data.h, so that the plotter shows the whole learned curve."""
    export(arduino.write, models["hello_world_int8"], tmp_path / "out", "esp32_devkitc")
    top, _ = unzip(tmp_path / "out")
    header = (top / "src" / "model_data.h").read_text()
    scale = float(re.search(r"#define MODEL_INPUT0_SCALE ([-0-9.e]+)f", header).group(1))  # type: ignore[union-attr]
    zero_point = int(re.search(r"#define MODEL_INPUT0_ZERO_POINT \(?(-?\d+)", header).group(1))  # type: ignore[union-attr]
    sketch = next(top.glob("examples/*/*.ino")).read_text()
    low = float(re.search(r"kSweepLow = ([-0-9.e]+)f;", sketch).group(1))  # type: ignore[union-attr]
    high = float(re.search(r"kSweepHigh = ([-0-9.e]+)f;", sketch).group(1))  # type: ignore[union-attr]
    assert low == pytest.approx(scale * (-128 - zero_point), rel=1e-5, abs=1e-6)
    assert high == pytest.approx(scale * (127 - zero_point), rel=1e-5)
    assert 6.0 < high < 6.5, "hello_world's input spans 0..2*pi"


@needs_gxx
def test_text_from_the_model_cannot_break_the_program(models: dict[str, DeployModel], tmp_path: Path) -> None:
    """An origin with a line break, a trailing backslash (which continues a // comment) and a
    trigraph goes into comments only, and the program still compiles."""
    model = dataclasses.replace(models["hello_world_int8"], origin='evil\n#error "line break" ??/ \\')
    export(cmake.write, model, tmp_path / "out", None)
    lines = (tmp_path / "out" / "main.cpp").read_text().splitlines()
    assert any("evil #error" in line for line in lines), "the origin is kept, on one comment line"
    assert not any(
        line.startswith('#error "line break') or (line.startswith("//") and line.endswith("\\")) for line in lines
    )
    syntax_check(tmp_path / "out" / "main.cpp", tmp_path / "out")


def test_a_large_input_gets_a_note_about_the_sensor_stub(models: dict[str, DeployModel], tmp_path: Path) -> None:
    notes = export(arduino.write, models["person_detect"], tmp_path / "out", "arduino_nano33_ble_sense")
    assert any("9,216 input values" in note and "INPUT_FROM_SERIAL" in note for note in notes)


# --- PlatformIO ---------------------------------------------------------------------------------


@needs_gxx
def test_platformio_project_for_esp32_names_board_platform_framework_and_tflm(
    models: dict[str, DeployModel], tmp_path: Path
) -> None:
    esp32 = board("esp32_devkitc")
    export(platformio.write, models["digits_int8"], tmp_path / "out", "esp32_devkitc")
    ini = configparser.ConfigParser()
    ini.read(tmp_path / "out" / "platformio.ini", encoding="utf-8")
    assert ini["platformio"]["default_envs"] == "esp32_devkitc"
    env = ini["env:esp32_devkitc"]
    assert env["platform"] == "espressif32"
    assert env["board"] == esp32.platformio_board == "esp32dev"
    assert env["framework"] == "arduino"
    assert env["monitor_speed"] == str(esp32.baud)
    assert env["lib_deps"].split() == ["spaziochirale/Chirale_TensorFLowLite@^2.0.0"]
    src = tmp_path / "out" / "src"
    assert sorted(p.name for p in src.iterdir()) == [
        "main.cpp",
        "model_data.cc",
        "model_data.h",
        "model_ops.h",
        "model_slot.cc",
        "model_slot.h",
    ], "the ESP32 DevKitC has a model slot (its spiffs partition): main.cpp reads it with model_slot.cc"
    main = (src / "main.cpp").read_text()
    assert main.index("#include <Arduino.h>") < main.index("#include <Chirale_TensorFlowLite.h>")
    assert model_bytes(src / "model_data.cc") == models["digits_int8"].tflite
    syntax_check(src / "main.cpp", src)


@pytest.mark.parametrize(
    ("board_id", "platform", "extra"),
    [
        ("arduino_nano33_ble_sense", "nordicnrf52", {}),
        ("raspberry_pi_pico", "raspberrypi", {}),
        ("arduino_portenta_h7", "ststm32", {}),
        ("nucleo_l4r5zi", "ststm32", {}),
        ("wio_terminal", "atmelsam", {}),
        (
            "raspberry_pi_pico2",
            "https://github.com/maxgerhardt/platform-raspberrypi.git",
            {"board_build.core": "earlephilhower"},
        ),
    ],
)
def test_platformio_platform_follows_the_board_mcu(
    models: dict[str, DeployModel], tmp_path: Path, board_id: str, platform: str, extra: dict[str, str]
) -> None:
    export(platformio.write, models["hello_world_int8"], tmp_path / "out", board_id)
    ini = configparser.ConfigParser()
    ini.read(tmp_path / "out" / "platformio.ini", encoding="utf-8")
    env = ini[f"env:{board_id}"]
    assert env["platform"] == platform
    assert env["board"] == board(board_id).platformio_board
    for key, value in extra.items():
        assert env[key] == value


@pytest.mark.parametrize(
    ("board_id", "library", "header"),
    [
        ("arduino_nano33_ble_sense", "spaziochirale/Chirale_TensorFLowLite@^2.0.0", "<Chirale_TensorFlowLite.h>"),
        ("raspberry_pi_pico", "https://github.com/tensorflow/tflite-micro-arduino-examples", "<TensorFlowLite.h>"),
        ("wio_terminal", "https://github.com/tensorflow/tflite-micro-arduino-examples", "<TensorFlowLite.h>"),
    ],
)
def test_platformio_takes_the_tflm_library_whose_header_main_includes(
    models: dict[str, DeployModel], tmp_path: Path, board_id: str, library: str, header: str
) -> None:
    """A core the registry's library does not cover gets TFLM's own library, the one <TensorFlowLite.h> is from."""
    export(platformio.write, models["hello_world_int8"], tmp_path / "out", board_id)
    ini = configparser.ConfigParser()
    ini.read(tmp_path / "out" / "platformio.ini", encoding="utf-8")
    assert ini[f"env:{board_id}"]["lib_deps"].split() == [library]
    assert f"#include {header}" in (tmp_path / "out" / "src" / "main.cpp").read_text()


def test_platformio_needs_a_board_with_a_platformio_id(models: dict[str, DeployModel], tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="platformio_board"):
        export(platformio.write, models["hello_world_int8"], tmp_path / "nicla", "arduino_nicla_vision")
    with pytest.raises(WorkbenchError, match="one board"):
        export(platformio.write, models["hello_world_int8"], tmp_path / "none", None)


# --- CMake --------------------------------------------------------------------------------------


@needs_gxx
@pytest.mark.parametrize("language", ["c++", "c"])
def test_cmake_project_lists_its_sources_and_main_compiles(
    models: dict[str, DeployModel], tmp_path: Path, language: str
) -> None:
    """With C model files (model_data.c) the C++ program still gets its model_ops.h."""
    out = tmp_path / "out"
    export(cmake.write, models["digits_int8"], out, None, language=language)
    cmake_lists = (out / "CMakeLists.txt").read_text()
    assert 'set(TFLM_DIR "${TFLM_DEFAULT_DIR}" CACHE PATH' in cmake_lists
    data = "model_data.cc" if language == "c++" else "model_data.c"
    assert f"add_executable(digits_int8_inference main.cpp {data})" in cmake_lists
    assert (out / "model_ops.h").is_file()
    assert model_bytes(out / data) == models["digits_int8"].tflite
    syntax_check(out / "main.cpp", out)


@pytest.mark.skipif(CMAKE is None, reason="cmake is not installed")
def test_cmake_configure_says_clearly_when_tflm_dir_is_missing_or_wrong(
    models: dict[str, DeployModel], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    export(cmake.write, models["hello_world_int8"], out, None)

    def configure(*args: str) -> subprocess.CompletedProcess[str]:
        build = tmp_path / f"build{len(list(tmp_path.glob('build*')))}"
        assert CMAKE is not None
        return subprocess.run(
            [CMAKE, "-S", str(out), "-B", str(build), *args], capture_output=True, text=True, timeout=180
        )

    unset = configure()
    assert unset.returncode != 0
    assert "TFLM_DIR is not set" in unset.stderr
    empty = tmp_path / "not-tflm"
    empty.mkdir()
    wrong = configure(f"-DTFLM_DIR={empty}")
    assert wrong.returncode != 0
    assert "does not hold TensorFlow Lite Micro" in wrong.stderr
    library = tmp_path / "libtensorflow-microlite.a"
    library.write_bytes(b"!<arch>\n")
    right = configure(f"-DTFLM_DIR={STANDIN}", f"-DTFLM_LIBRARY={library}")
    assert right.returncode == 0, right.stderr


def test_the_cmake_program_for_a_board_with_a_slot_runs_the_compiled_in_model(
    models: dict[str, DeployModel], tmp_path: Path
) -> None:
    """The CMake program runs on a computer, where the Pico's slot address is not mapped memory."""
    export(cmake.write, models["hello_world_int8"], tmp_path / "out", "raspberry_pi_pico")
    main = (tmp_path / "out" / "main.cpp").read_text()
    assert '#include "model_slot.h"' not in main and "#define MODEL_SLOT_IN_PARTITION" not in main
