"""The model slot: images made in Python, read by the generated C reader on the host."""

from __future__ import annotations

import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.export.conftest import MODEL_PATHS, Compiler, DeployModelFactory
from workbench.core.errors import WorkbenchError
from workbench.export import model_slot
from workbench.export.c_source import write_model_files
from workbench.export.model_slot import HEADER_BYTES, STATUSES, slot_image, slot_model, slot_status

# Reads a slot image from a file (or "null": no address) into 16-byte aligned memory, as flash
# would hold it, asks the generated reader, and writes the model it returns.
READER_MAIN = r"""
#include <stdio.h>
#include <string.h>

#include "model_data.h"
#include "model_slot.h"

static _Alignas(16) unsigned char flash[1 << 21];

int main(int argc, char** argv) {
  const unsigned char* address = NULL;
  unsigned int checked_length = 0;
  unsigned int length = 0;
  const unsigned char* model;
  FILE* file;
  int status;
  if (argc != 3) return 2;
  if (strcmp(argv[1], "null") != 0) {
    file = fopen(argv[1], "rb");
    if (file == NULL) return 3;
    if (fread(flash, 1, sizeof flash, file) == 0) return 4;
    fclose(file);
    address = flash;
  }
  status = model_slot_check(address, &checked_length);
  model = model_slot_find(address, &length);
  file = fopen(argv[2], "wb");
  if (file == NULL) return 5;
  fwrite(model, 1, length, file);
  fclose(file);
  printf("%d %s %u\n%s\n", status, model == g_model ? "compiled-in" : "slot", checked_length,
         model_slot_status_text(status));
  return 0;
}
"""


@dataclass(frozen=True)
class Reader:
    program: Path
    compiled_in: bytes

    def read(self, image: bytes | None, work: Path) -> tuple[str, str, bytes]:
        """(status, "slot" or "compiled-in", model bytes returned) for `image` (None: null address)."""
        slot_file = work / "slot.bin"
        if image is not None:
            slot_file.write_bytes(image)
        out = work / "model.out"
        done = subprocess.run(
            [str(self.program), str(slot_file) if image is not None else "null", str(out)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        status, source, _ = done.stdout.splitlines()[0].split()
        return STATUSES[int(status)], source, out.read_bytes()


def build_reader(
    compiler: Compiler, model_factory: DeployModelFactory, folder: Path, language: str, *defines: str
) -> Reader:
    """The reader program with digits_int8 compiled in, the slot code in `language`."""
    compiled_in = model_factory("digits_int8")
    folder.mkdir(parents=True, exist_ok=True)
    files = write_model_files(compiled_in, folder, language=language, with_ops=False)
    (folder / "main.c").write_text(READER_MAIN)
    objects = [
        compiler.compile(path, path.with_suffix(".o"), *defines)
        for path in [*files, folder / "main.c"]
        if path.suffix in (".c", ".cc")
    ]
    return Reader(compiler.link(objects, folder / "reader", cxx=language == "c++"), compiled_in.tflite)


@pytest.fixture(scope="module")
def reader(
    host_compiler: Compiler, deploy_model_factory: DeployModelFactory, tmp_path_factory: pytest.TempPathFactory
) -> Reader:
    return build_reader(host_compiler, deploy_model_factory, tmp_path_factory.mktemp("slot_c"), "c")


@pytest.fixture(scope="module")
def slot_tflite() -> bytes:
    """The model flashed into the slot: not the compiled-in one, so that the two can be told apart."""
    return MODEL_PATHS["hello_world_int8"].read_bytes()


def with_header(image: bytes, **fields: int | bytes) -> bytes:
    """`image` with some header fields replaced (magic, version, length, crc32)."""
    header = model_slot.read_header(image)
    values = {"magic": header.magic, "version": header.version, "length": header.length, "crc32": header.crc32}
    values.update(fields)
    packed = struct.pack("<4sIII", values["magic"], values["version"], values["length"], values["crc32"])
    return packed + image[HEADER_BYTES:]


def test_a_valid_slot_gives_its_model_byte_for_byte(reader: Reader, slot_tflite: bytes, tmp_path: Path) -> None:
    status, source, returned = reader.read(slot_image(slot_tflite), tmp_path)
    assert (status, source) == ("ok", "slot")
    assert returned == slot_tflite


def test_a_corrupted_model_byte_fails_the_crc_and_falls_back(
    reader: Reader, slot_tflite: bytes, tmp_path: Path
) -> None:
    image = bytearray(slot_image(slot_tflite))
    image[HEADER_BYTES + len(slot_tflite) // 2] ^= 0x01
    status, source, returned = reader.read(bytes(image), tmp_path)
    assert (status, source) == ("bad CRC", "compiled-in")
    assert returned == reader.compiled_in


def test_a_wrong_crc_field_falls_back(reader: Reader, slot_tflite: bytes, tmp_path: Path) -> None:
    image = slot_image(slot_tflite)
    wrong = with_header(image, crc32=model_slot.read_header(image).crc32 ^ 0x80000000)
    assert reader.read(wrong, tmp_path)[:2] == ("bad CRC", "compiled-in")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"magic": b"TFL3"}, "bad magic"),
        ({"version": 2}, "bad version"),
        ({"version": 0}, "bad version"),
        ({"length": 0}, "bad length"),
        ({"length": model_slot.DEFAULT_SLOT_BYTES}, "bad length"),  # one header past the slot's end
        ({"length": 0xFFFFFFFF}, "bad length"),
    ],
)
def test_a_bad_header_is_refused_and_the_compiled_in_model_used(
    reader: Reader, slot_tflite: bytes, tmp_path: Path, fields: dict[str, int | bytes], expected: str
) -> None:
    image = with_header(slot_image(slot_tflite), **fields)
    status, source, returned = reader.read(image, tmp_path)
    assert (status, source) == (expected, "compiled-in")
    assert returned == reader.compiled_in
    assert slot_status(image) == expected, "the Python reading of the slot agrees with the C one"


def test_erased_flash_and_a_null_address_fall_back(reader: Reader, tmp_path: Path) -> None:
    assert reader.read(b"\xff" * 4096, tmp_path)[:2] == ("bad magic", "compiled-in")
    status, source, returned = reader.read(None, tmp_path)
    assert (status, source, returned) == ("no address", "compiled-in", reader.compiled_in)


def test_slot_size_bounds_the_length_exactly(
    host_compiler: Compiler, deploy_model_factory: DeployModelFactory, slot_tflite: bytes, tmp_path: Path
) -> None:
    """MODEL_SLOT_SIZE set by the firmware: a model that fills the slot exactly is found, one byte
    more is refused before it is read."""
    fits = len(slot_tflite) + HEADER_BYTES
    tight = build_reader(host_compiler, deploy_model_factory, tmp_path / "fits", "c", f"-DMODEL_SLOT_SIZE={fits}u")
    short = build_reader(host_compiler, deploy_model_factory, tmp_path / "short", "c", f"-DMODEL_SLOT_SIZE={fits - 1}u")
    image = slot_image(slot_tflite)
    assert tight.read(image, tmp_path)[:2] == ("ok", "slot")
    assert short.read(image, tmp_path)[:2] == ("bad length", "compiled-in")
    assert slot_status(image, fits) == "ok" and slot_status(image, fits - 1) == "bad length"


def test_the_cpp_reader_reads_the_same_slots(
    host_compiler: Compiler, deploy_model_factory: DeployModelFactory, slot_tflite: bytes, tmp_path: Path
) -> None:
    """model_slot.cc (C++ build) links with a C main and reads slots the same way."""
    cpp = build_reader(host_compiler, deploy_model_factory, tmp_path / "cpp", "c++")
    image = slot_image(slot_tflite)
    assert cpp.read(image, tmp_path) == ("ok", "slot", slot_tflite)
    assert cpp.read(with_header(image, magic=b"XXXX"), tmp_path)[:2] == ("bad magic", "compiled-in")


def test_slot_image_layout_is_the_documented_one(slot_tflite: bytes) -> None:
    """Header: magic, version, length, CRC-32 (little-endian); the model at 16; 0xFF padding to 16."""
    image = slot_image(slot_tflite)
    magic, version, length, crc = struct.unpack_from("<4sIII", image)
    assert (magic, version, length) == (b"TMWS", 1, len(slot_tflite))
    assert crc == zlib.crc32(slot_tflite)
    assert image[HEADER_BYTES : HEADER_BYTES + length] == slot_tflite
    assert len(image) % 16 == 0 and len(image) - HEADER_BYTES - length < 16
    assert set(image[HEADER_BYTES + length :]) <= {0xFF}
    assert slot_model(image) == slot_tflite
    doc = (Path(__file__).resolve().parents[2] / "docs" / "model-slot.md").read_text()
    assert "TMWS" in doc and "CRC-32" in doc


def test_slot_image_refuses_bytes_that_are_not_a_model() -> None:
    with pytest.raises(WorkbenchError, match="not a TFLite model"):
        slot_image(b"\x7fELF" + bytes(60))
    with pytest.raises(WorkbenchError, match="not valid: bad magic"):
        slot_model(bytes(64))


def test_a_board_with_a_model_offset_gives_its_slot_address_to_the_firmware(
    deploy_model_factory: DeployModelFactory, arm_compiler: Compiler, tmp_path: Path
) -> None:
    """Exported for a board whose file gives model_offset: model_slot.h defines MODEL_SLOT_ADDRESS,
    and firmware that reads the slot there compiles for the board."""
    from workbench.core.boards import Board
    from workbench.export.api import ExportOptions
    from workbench.export.c_source import write
    from workbench.tasks import Task

    board = Board("pico", "Pico", "RP2040", "Cortex-M0+", 133, 2048, 264, [], 115200, "uf2", model_offset="0x10100000")
    folder = tmp_path / "export"
    write(deploy_model_factory("digits_int8"), ExportOptions("c", folder, board=board), folder, Task())
    assert "#define MODEL_SLOT_ADDRESS 0x10100000u" in (folder / "model_slot.h").read_text()
    assert "MODEL_SLOT_ADDRESS (0x10100000)" in (folder / "README.txt").read_text()
    firmware = tmp_path / "firmware.cpp"
    firmware.write_text(
        '#include "model_slot.h"\n'
        "const unsigned char* model_bytes(unsigned int* length) {\n"
        "  return model_slot_find(reinterpret_cast<const unsigned char*>(MODEL_SLOT_ADDRESS), length);\n"
        "}\n"
    )
    arm_compiler.compile(firmware, tmp_path / "firmware.o", includes=[folder])
    arm_compiler.compile(folder / "model_slot.cc", tmp_path / "model_slot.o")
