"""The model slot on ESP32 boards: each board file's model_offset is the spiffs partition of the
partition table the board builds with by default; the exported program finds that partition through
ESP-IDF's partition API (stand-in headers in tests/export/standin_esp) and runs the model in it, or
the compiled-in one; `flash --model-only` writes the slot image at model_offset with esptool."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
import zlib
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import SAMPLES, run_cli
from workbench.core.boards import Board, board_from_toml
from workbench.export import arduino, platformio
from workbench.export.api import DeployModel, ExportOptions
from workbench.export.model_slot import HEADER_BYTES, slot_image
from workbench.tasks import Task

ROOT = Path(__file__).resolve().parents[2]
BOARDS = ROOT / "plugins" / "boards"
HERE = Path(__file__).resolve().parent
STANDIN_TFLM = HERE / "standin_tflm"
STANDIN_ESP = HERE / "standin_esp"
SLOT_MODEL = SAMPLES / "digits_int8.tflite"
needs_gxx = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ is not installed")

# Where each ESP32 board's default partition table puts its data partition of subtype spiffs, read
# from espressif/arduino-esp32 tools/partitions/default.csv ("spiffs, data, spiffs, 0x290000,
# 0x160000") and default_8MB.csv ("spiffs, data, spiffs, 0x670000, 0x180000"). Default tables:
# boards.txt builds esp32, esp32c3 and esp32s3 (ESP32S3 Dev Module: flash_size=4MB) with
# partitions=default; PlatformIO's esp32dev, esp32-c3-devkitm-1 and esp32-s3-devkitc-1 name no
# partitions (default.csv), its seeed_xiao_esp32s3.json names default_8MB.csv.
SPIFFS_PARTITION = {
    "esp32_devkitc": 0x290000,
    "esp32c3_devkitm": 0x290000,
    "esp32s3_devkitc": 0x290000,
    "xiao_esp32s3": 0x670000,
}
DEFAULT_CSV_SPIFFS_BYTES = 0x160000


def board(board_id: str) -> Board:
    return board_from_toml(BOARDS / f"{board_id}.toml")


@pytest.fixture(scope="module")
def compiled_in(deploy_model_factory: Callable[..., DeployModel]) -> DeployModel:
    """The model compiled into the exported programs (a slot holds another one: the sample)."""
    return deploy_model_factory("hello_world_int8")


def export_library(model: DeployModel, folder: Path, board_id: str) -> tuple[Path, Path]:
    """The Arduino library exported for `board_id`, unzipped: (its src folder, its sketch)."""
    folder.mkdir(parents=True)
    arduino.write(model, ExportOptions("x", folder, board(board_id)), folder, Task())
    (archive,) = folder.glob("*.zip")
    zipfile.ZipFile(archive).extractall(folder / "unzipped")
    (top,) = (folder / "unzipped").iterdir()
    (sketch,) = top.glob("examples/*/*.ino")
    return top / "src", sketch


def syntax_check(source: Path, *includes: Path, defines: tuple[str, ...] = (), sketch: bool = False) -> None:
    """g++ -fsyntax-only, every warning an error; a sketch is C++ with Arduino.h included first."""
    argv = ["g++", "-fsyntax-only", "-std=c++17", "-Wall", "-Wextra", "-Werror"]
    argv += ["-x", "c++", "-include", "Arduino.h"] if sketch else []
    argv += [f"-D{d}" for d in defines] + [f"-I{d}" for d in (STANDIN_TFLM, *includes)] + [str(source)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{source.name} does not compile:\n{done.stderr[-4000:]}"


def test_each_esp32_board_puts_its_slot_at_the_spiffs_partition_of_its_default_table() -> None:
    for board_id, offset in SPIFFS_PARTITION.items():
        assert int(board(board_id).model_offset, 0) == offset, board_id
    esp32_boards = {path.stem for path in BOARDS.glob("*.toml") if board(path.stem).mcu.upper().startswith("ESP32")}
    assert esp32_boards == set(SPIFFS_PARTITION), "an ESP32 board file without its partition in this table"


def test_flash_model_only_dry_run_writes_the_slot_image_at_the_partition_with_esptool() -> None:
    port = "/dev/ttyS0" if os.path.exists("/dev/ttyS0") else "COM9"  # a dry run opens no port
    done = run_cli("flash", str(SLOT_MODEL), "--board", "esp32s3_devkitc", "--port", port, "--model-only", "--dry-run")
    assert done.returncode == 0, done.stderr
    commands = [line for line in done.stdout.splitlines() if "esptool" in line and "write-flash" in line]
    assert len(commands) == 1, done.stdout
    arguments = commands[0].split("write-flash", 1)[1].split()
    assert arguments[0] == "0x290000" and arguments[1].endswith("digits_int8.slot.bin"), commands[0]
    assert f"--chip esp32s3 --port {port}" in commands[0]


@needs_gxx
def test_the_esp32_sketch_finds_the_slot_partition_and_compiles_for_esp_idf_5_and_4(
    compiled_in: DeployModel, tmp_path: Path
) -> None:
    """arduino-esp32 3.x (ESP-IDF 5) names the mmap type and unmap call otherwise than 2.x (ESP-IDF 4):
    the sketch compiles against both; without ESP_PLATFORM (not the ESP32 core) it runs the
    compiled-in model and never reads the flash offset as an address."""
    src, sketch = export_library(compiled_in, tmp_path / "out", "esp32s3_devkitc")
    text = sketch.read_text()
    assert "esp_partition_find_first(ESP_PARTITION_TYPE_DATA, ESP_PARTITION_SUBTYPE_DATA_SPIFFS, nullptr)" in text
    assert "--board esp32s3_devkitc --model-only" in text and "at 0x290000" in text
    assert "MODEL_SLOT_ADDRESS" not in (src / "model_slot.h").read_text(), "0x290000 is a flash offset on ESP32"
    for version in ("5", "4"):
        syntax_check(
            sketch, src, STANDIN_ESP, defines=("ESP_PLATFORM", f"ESP_IDF_VERSION_MAJOR={version}"), sketch=True
        )
    syntax_check(sketch, src, sketch=True)  # no ESP-IDF headers needed off the ESP32 core
    syntax_check(src / "model_slot.cpp", src)


@needs_gxx
def test_the_platformio_main_for_the_xiao_esp32s3_finds_its_partition_and_compiles(
    compiled_in: DeployModel, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    platformio.write(compiled_in, ExportOptions("x", out, board("xiao_esp32s3")), out, Task())
    main = out / "src" / "main.cpp"
    assert "esp_partition_mmap(" in main.read_text() and "at 0x670000" in main.read_text()
    syntax_check(main, out / "src", STANDIN_ESP, defines=("ESP_PLATFORM",))


@needs_gxx
def test_the_pico_sketch_keeps_its_fixed_slot_address_and_needs_no_esp_header(
    compiled_in: DeployModel, tmp_path: Path
) -> None:
    src, sketch = export_library(compiled_in, tmp_path / "out", "raspberry_pi_pico")
    assert "#define MODEL_SLOT_ADDRESS 0x10100000u" in (src / "model_slot.h").read_text()
    assert "esp_partition" not in sketch.read_text()
    syntax_check(sketch, src, sketch=True)


# --- The ESP32 slot code, run on this machine against a partition held in memory ---------------

HARNESS = r"""
// Runs the exported program's model_from_partition() against a spiffs partition in memory:
// argv[1] holds the partition's bytes (the rest reads as erased flash), argv[2] its size (0: the
// table has no spiffs partition), argv[3] receives the bytes of the model chosen. Prints
// "<slot|compiled> <length> <bytes asked to map> <unmaps>".
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

#include "model_data.h"
#include "slot_code.inc"

namespace {
bool has_partition = false;
esp_partition_t partition;
std::vector<unsigned char> flash;
size_t asked_to_map = 0;
unsigned char* mapped = nullptr;  // exactly the bytes mapped: reading past them fails under ASan
int unmaps = 0;
}  // namespace

extern "C" {
const esp_partition_t* esp_partition_find_first(esp_partition_type_t type, esp_partition_subtype_t subtype,
                                                const char* label) {
  const bool match = type == ESP_PARTITION_TYPE_DATA && subtype == ESP_PARTITION_SUBTYPE_DATA_SPIFFS;
  return has_partition && match && label == nullptr ? &partition : nullptr;
}

esp_err_t esp_partition_read(const esp_partition_t* part, size_t offset, void* dst, size_t size) {
  if (part != &partition || offset + size > part->size) {
    return ESP_ERR_INVALID_SIZE;
  }
  memcpy(dst, flash.data() + offset, size);
  return ESP_OK;
}

#if ESP_IDF_VERSION_MAJOR >= 5
esp_err_t esp_partition_mmap(const esp_partition_t* part, size_t offset, size_t size,
                             esp_partition_mmap_memory_t memory, const void** out_ptr,
                             esp_partition_mmap_handle_t* out_handle) {
  const bool data = memory == ESP_PARTITION_MMAP_DATA;
#else
esp_err_t esp_partition_mmap(const esp_partition_t* part, size_t offset, size_t size,
                             spi_flash_mmap_memory_t memory, const void** out_ptr,
                             spi_flash_mmap_handle_t* out_handle) {
  const bool data = memory == SPI_FLASH_MMAP_DATA;
#endif
  asked_to_map = size;
  if (part != &partition || !data || offset + size > part->size || mapped != nullptr) {
    return ESP_ERR_INVALID_ARG;
  }
  mapped = static_cast<unsigned char*>(malloc(size));
  memcpy(mapped, flash.data() + offset, size);
  *out_ptr = mapped;
  *out_handle = 7;
  return ESP_OK;
}

#if ESP_IDF_VERSION_MAJOR >= 5
void esp_partition_munmap(esp_partition_mmap_handle_t handle) {
#else
void spi_flash_munmap(spi_flash_mmap_handle_t handle) {
#endif
  unmaps += handle == 7 ? 1 : 100;
}
}

int main(int argc, char** argv) {
  if (argc != 4) {
    return 2;
  }
  const size_t size = strtoul(argv[2], nullptr, 0);
  has_partition = size > 0;
  flash.assign(size, 0xFF);
  FILE* in = fopen(argv[1], "rb");
  if (in == nullptr) {
    return 3;
  }
  const size_t read = fread(flash.data(), 1, size, in);
  fclose(in);
  if (read > size) {
    return 3;
  }
  partition.type = ESP_PARTITION_TYPE_DATA;
  partition.subtype = ESP_PARTITION_SUBTYPE_DATA_SPIFFS;
  partition.address = 0x290000;
  partition.size = static_cast<uint32_t>(size);
  unsigned int length = 0;
  const unsigned char* model = model_from_partition(&length);
  const bool from_slot = mapped != nullptr && model == mapped + MODEL_SLOT_HEADER_SIZE;
  if (!from_slot && model != g_model) {
    return 4;
  }
  FILE* out = fopen(argv[3], "wb");
  fwrite(model, 1, length, out);
  fclose(out);
  printf("%s %u %zu %d\n", from_slot ? "slot" : "compiled", length, asked_to_map, unmaps);
  free(mapped);
  return 0;
}
"""


@cache
def _sanitizer() -> tuple[str, ...]:
    """-fsanitize=address when this g++ can build and run with it (a read past the map then fails)."""
    return ("-fsanitize=address",) if _asan_works() else ()


def _asan_works() -> bool:
    folder = Path(os.environ.get("TMPDIR", "/tmp"))
    probe = folder / f"asan-probe-{os.getpid()}"
    source = probe.with_suffix(".cpp")
    source.write_text("int main() { return 0; }\n")
    try:
        built = subprocess.run(["g++", "-fsanitize=address", str(source), "-o", str(probe)], capture_output=True)
        return built.returncode == 0 and subprocess.run([str(probe)], capture_output=True).returncode == 0
    finally:
        source.unlink(missing_ok=True)
        probe.unlink(missing_ok=True)


@pytest.fixture(scope="module", params=["5", "4"], ids=["esp-idf-5", "esp-idf-4"])
def slot_runner(
    request: pytest.FixtureRequest, compiled_in: DeployModel, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[bytes, int], tuple[str, int, int, int, bytes]]:
    """The exported sketch's ESP32 slot code, cut out of it and built with model_slot.cpp and
    model_data.cpp into a program that runs it on a partition in memory: run(bytes, size)."""
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed")
    folder = tmp_path_factory.mktemp(f"esp-idf-{request.param}")
    src, sketch = export_library(compiled_in, folder / "export", "esp32_devkitc")
    text = sketch.read_text()
    start = text.index('#include "model_slot.h"')
    end = text.index("#endif  // ESP_PLATFORM", start) + len("#endif  // ESP_PLATFORM")
    (folder / "slot_code.inc").write_text(text[start:end] + "\n")
    (folder / "harness.cpp").write_text(HARNESS)
    program = folder / "harness"
    argv = ["g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-g", *_sanitizer()]
    argv += ["-DESP_PLATFORM", f"-DESP_IDF_VERSION_MAJOR={request.param}"]
    argv += [f"-I{STANDIN_ESP}", f"-I{src}", f"-I{folder}", str(folder / "harness.cpp")]
    argv += [str(src / "model_slot.cpp"), str(src / "model_data.cpp"), "-o", str(program)]
    built = subprocess.run(argv, capture_output=True, text=True, timeout=180)
    assert built.returncode == 0, built.stderr[-4000:]

    def run(contents: bytes, size: int) -> tuple[str, int, int, int, bytes]:
        partition = folder / "partition.bin"
        chosen = folder / "chosen.bin"
        partition.write_bytes(contents)
        done = subprocess.run(
            [str(program), str(partition), hex(size), str(chosen)], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr[-4000:]
        source, length, asked, unmaps = done.stdout.split()
        return source, int(length), int(asked), int(unmaps), chosen.read_bytes()

    return run


def test_a_slot_in_the_partition_is_the_model_run_and_only_it_is_mapped(
    slot_runner: Callable[[bytes, int], tuple[str, int, int, int, bytes]],
) -> None:
    model = SLOT_MODEL.read_bytes()
    source, length, asked, unmaps, chosen = slot_runner(slot_image(model), DEFAULT_CSV_SPIFFS_BYTES)
    assert (source, length, unmaps) == ("slot", len(model), 0)
    assert chosen == model
    assert asked == HEADER_BYTES + len(model), "the header and the model, not the whole 1.4 MB partition"


def test_without_a_valid_slot_the_compiled_in_model_runs(
    slot_runner: Callable[[bytes, int], tuple[str, int, int, int, bytes]], compiled_in: DeployModel
) -> None:
    """Erased flash, no spiffs partition, a slot longer than its partition (never mapped nor read
    past), a damaged model (mapped, checked, unmapped): each runs the compiled-in model."""
    model = SLOT_MODEL.read_bytes()
    image = slot_image(model)
    damaged = bytearray(image)
    damaged[HEADER_BYTES + 100] ^= 0xFF
    assert zlib.crc32(bytes(damaged[HEADER_BYTES : HEADER_BYTES + len(model)])) != zlib.crc32(model)
    cases = {
        "erased": (b"", DEFAULT_CSV_SPIFFS_BYTES, 0, 0),
        "no partition": (image, 0, 0, 0),
        "slot longer than its partition": (image, HEADER_BYTES + len(model) - 1, 0, 0),
        "damaged model": (bytes(damaged), DEFAULT_CSV_SPIFFS_BYTES, HEADER_BYTES + len(model), 1),
    }
    for case, (contents, size, asked_expected, unmaps_expected) in cases.items():
        source, length, asked, unmaps, chosen = slot_runner(contents, size)
        assert (source, length) == ("compiled", len(compiled_in.tflite)), case
        assert chosen == compiled_in.tflite, case
        assert (asked, unmaps) == (asked_expected, unmaps_expected), case
