"""The UF2 format and the built-in uf2 flasher: files as the specification describes them, written to
the board's own bootloader drive (a folder with an INFO_UF2.TXT here) until the board restarts."""

from __future__ import annotations

import os
import shutil
import struct
import sys
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.core.boards import Board
from workbench.core.errors import Cancelled, WorkbenchError
from workbench.flash import detect
from workbench.flash.api import Flasher, FlashJob
from workbench.flash.uf2_format import binary_to_uf2, family_id, parse_info
from workbench.plugins import discover, load_boards
from workbench.tasks import Task

# Written from the UF2 specification (github.com/microsoft/uf2 README.md, utils/uf2families.json)
# and Raspberry Pi's RP2350 datasheet (erratum RP2350-E10), not from the code under test.
MAGIC0, MAGIC1, MAGIC_END = 0x0A324655, 0x9E5D5157, 0x0AB16F30
FAMILY_FLAG, EXTENSION_FLAG = 0x2000, 0x8000
RP2040, ABSOLUTE, RP2350_ARM_S, NRF52840, SAMD51 = 0xE48BFF56, 0xE48BFF57, 0xE48BFF59, 0xADA52840, 0x55114460
RP2_IGNORE_BLOCK_TAG = 0x9957E304
PICO_INFO = "UF2 Bootloader v3.0\nModel: Raspberry Pi RP2\nBoard-ID: RPI-RP2\n"
PICO2_INFO = "UF2 Bootloader v1.0\nModel: Raspberry Pi RP2350\nBoard-ID: RP2350\n"
XIAO_INFO = (
    "UF2 Bootloader 0.6.1 lib/nrfx (v2.0.0) lib/tinyusb (0.10.1-41-gdf0cda2d) lib/uf2 (remotes/origin/configupdate-9)\n"
    "Model: Seeed XIAO nRF52840\nBoard-ID: nRF52840-SeeedXiaoSense-v1\nSoftDevice: S140 version 7.3.0\n"
)
WIO_INFO = "UF2 Bootloader v3.14.0 SFHWRO\nModel: Wio Terminal\nBoard-ID: SAMD51P19A-WioTerminal-v0\n"
FEATHER_M4_INFO = "UF2 Bootloader v3.15.0 SFHR\nModel: Feather M4 Express\nBoard-ID: SAMD51J19A-Feather-M4-v0\n"


def spec_blocks(data: bytes) -> list[dict[str, object]]:
    """Every 512-byte block's fields, as the specification's table lays them out."""
    assert len(data) % 512 == 0 and data
    blocks = []
    for offset in range(0, len(data), 512):
        start0, start1, flags, address, size, number, total, family = struct.unpack_from("<8I", data, offset)
        (end,) = struct.unpack_from("<I", data, offset + 508)
        blocks.append(
            dict(
                magics=(start0, start1, end),
                flags=flags,
                address=address,
                size=size,
                number=number,
                total=total,
                family=family,
                data=data[offset + 32 : offset + 508],
            )
        )
    return blocks


def check_binary_blocks(blocks: list[dict[str, object]], payload: bytes, address: int, family: int) -> None:
    """`blocks` write `payload` from `address` on for `family`, as the specification says they must."""
    count = (len(payload) + 255) // 256
    assert len(blocks) == count
    for n, block in enumerate(blocks):
        assert block["magics"] == (MAGIC0, MAGIC1, MAGIC_END), n
        assert block["flags"] == FAMILY_FLAG and block["family"] == family, n
        assert (block["address"], block["size"], block["number"], block["total"]) == (address + 256 * n, 256, n, count)
        assert block["data"][256:] == bytes(220), "the rest of the data field is padding"  # type: ignore[index]
    written = b"".join(block["data"][:256] for block in blocks)  # type: ignore[index]
    assert written[: len(payload)] == payload
    assert written[len(payload) :] == bytes(-len(payload) % 256), "the last page is padded with zeros"


def make_uf2(path: Path, payload: bytes, family: int, address: int = 0x10000000) -> bytes:
    """A UF2 file of 256-byte payloads, as picotool and uf2conv write them."""
    chunks = [payload[i : i + 256] for i in range(0, len(payload), 256)]
    blocks = [
        struct.pack("<8I", MAGIC0, MAGIC1, FAMILY_FLAG, address + 256 * n, 256, n, len(chunks), family)
        + chunk.ljust(476, b"\0")
        + struct.pack("<I", MAGIC_END)
        for n, chunk in enumerate(chunks)
    ]
    data = b"".join(blocks)
    path.write_bytes(data)
    return data


def make_drive(parent: Path, name: str, info: str, info_name: str = "INFO_UF2.TXT") -> Path:
    """A folder standing for a bootloader's drive, as the bootloader shows it."""
    drive = parent / name
    drive.mkdir()
    (drive / info_name).write_text(info)
    return drive


class Bootloader:
    """Stands for the bootloader behind a drive: once a .uf2 on it holds all the blocks its header
    announces, it keeps the file's bytes and removes the drive (the board restarting)."""

    def __init__(self, drive: Path) -> None:
        self.drive = drive
        self.received: dict[str, bytes] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _complete(self, data: bytes) -> bool:
        whole = data[: len(data) - len(data) % 512]
        if not whole:
            return False
        numbers: dict[int, set[int]] = {}
        totals: dict[int, int] = {}
        for block in spec_blocks(whole):
            family = int(block["family"])  # type: ignore[call-overload]
            numbers.setdefault(family, set()).add(int(block["number"]))  # type: ignore[call-overload]
            totals[family] = int(block["total"])  # type: ignore[call-overload]
        # The RP2350-E10 block says "0 of 2" and stands alone: a family with one block of 2 does not count.
        return any(len(numbers[f]) == totals[f] for f in numbers if not (f == ABSOLUTE and totals[f] == 2))

    def _watch(self) -> None:
        while not self._stop.is_set():
            for path in list(self.drive.glob("*.uf2")):
                try:
                    data = path.read_bytes()
                except OSError:
                    continue
                if self._complete(data):
                    self.received[path.name] = data
                    time.sleep(0.05)  # the flasher is waiting for the drive by now, or soon
                    shutil.rmtree(self.drive)
                    return
            time.sleep(0.01)

    def join(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


@pytest.fixture(scope="module")
def boards() -> dict[str, Board]:
    catalog = load_boards()
    return {board_id: catalog.get(board_id) for board_id in catalog.boards}


@pytest.fixture()
def uf2() -> Flasher:
    return discover(kinds=("flasher",)).flasher("uf2")


@pytest.fixture()
def uf2_module(uf2: Flasher) -> types.ModuleType:
    return sys.modules[type(uf2).__module__]


@pytest.fixture()
def pico_drive(tmp_path: Path) -> Path:
    return make_drive(tmp_path, "RPI-RP2", PICO_INFO)


@pytest.fixture()
def mounted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    """The drives this system has mounted, as the test lays them out (none at first)."""
    drives: list[Path] = []
    monkeypatch.setattr(detect, "candidate_drives", lambda: list(drives))
    yield drives


# --- the format -------------------------------------------------------------------------------


def test_a_binary_becomes_uf2_blocks_as_the_specification_describes() -> None:
    payload = os.urandom(256 * 7 + 100)  # not a multiple of 256
    blocks = spec_blocks(binary_to_uf2(payload, 0x10000000, RP2040))
    check_binary_blocks(blocks, payload, 0x10000000, RP2040)
    assert len(blocks) == 8 and blocks[-1]["data"][100:256] == bytes(156)  # type: ignore[index]


def test_a_binary_smaller_than_a_page_is_one_block_at_its_address() -> None:
    payload = b"\x01\x02\x03"
    blocks = spec_blocks(binary_to_uf2(payload, 0x4000, SAMD51))
    check_binary_blocks(blocks, payload, 0x4000, SAMD51)


def test_the_rp2350_e10_block_comes_first_as_the_erratum_describes_it() -> None:
    payload = os.urandom(1000)
    blocks = spec_blocks(binary_to_uf2(payload, 0x10000000, RP2350_ARM_S, e10_block_address=0x10FFFF00))
    e10, rest = blocks[0], blocks[1:]
    assert e10["magics"] == (MAGIC0, MAGIC1, MAGIC_END)
    assert e10["family"] == ABSOLUTE and e10["flags"] == FAMILY_FLAG | EXTENSION_FLAG
    assert (e10["address"], e10["size"], e10["number"], e10["total"]) == (0x10FFFF00, 256, 0, 2)
    assert e10["data"][:256] == b"\xef" * 256  # type: ignore[index]
    assert struct.unpack_from("<I", e10["data"], 256)[0] == RP2_IGNORE_BLOCK_TAG  # type: ignore[arg-type]
    check_binary_blocks(rest, payload, 0x10000000, RP2350_ARM_S)


def test_family_names_of_board_files_map_to_the_specifications_ids(boards: dict[str, Board]) -> None:
    expected = {"RP2040": RP2040, "RP2350-ARM-S": RP2350_ARM_S, "NRF52840": NRF52840, "SAMD51": SAMD51}
    for board in boards.values():
        if board.uf2_family:
            assert family_id(board.uf2_family) == expected[board.uf2_family], board.id
    assert family_id("rp2350_riscv") == 0xE48BFF5A and family_id("absolute") == ABSOLUTE
    assert family_id("NOT-A-CHIP") is None


def test_info_uf2_txt_gives_model_board_id_and_cpu() -> None:
    info = parse_info(WIO_INFO.replace("\n", "\r\n"))
    assert (info.model, info.board_id, info.cpu) == ("Wio Terminal", "SAMD51P19A-WioTerminal-v0", "SAMD51P19A")
    assert info.bootloader == "UF2 Bootloader v3.14.0 SFHWRO"
    assert parse_info("garbage").board_id == ""


# --- the flasher ------------------------------------------------------------------------------


def test_uf2_flasher_needs_nothing_and_plans_each_file_drive_address_and_block_count(
    uf2: Flasher, boards: dict[str, Board], tmp_path: Path, pico_drive: Path
) -> None:
    assert uf2.available().ok
    pico = boards["raspberry_pi_pico"]
    firmware = tmp_path / "blink.uf2"
    make_uf2(firmware, os.urandom(256 * 10), RP2040)
    steps = [str(step) for step in uf2.plan(FlashJob(firmware, pico, drive=str(pico_drive)))]
    assert f"Check that {firmware} is a UF2 file for RP2040" in steps[0]
    assert "10 blocks for 0x10000000-0x10000a00" in steps[0] and "0xe48bff56" in steps[0]
    assert "Raspberry Pi Pico" in steps[1] and "bootloader" in steps[1]
    assert f"blink.uf2 (5,120 bytes) as {pico_drive / 'blink.uf2'}" in steps[2]
    assert "restarts" in steps[3]

    slot = tmp_path / "model.slot.bin"
    slot.write_bytes(os.urandom(1000))
    job = FlashJob(slot, pico, drive=str(pico_drive), address=int(pico.model_offset, 0))
    steps = [str(step) for step in uf2.plan(job)]
    assert f"Convert {slot} (1,000 bytes) to UF2 in a temporary model.slot.uf2" in steps[0]
    assert "4 blocks of 256 bytes for 0x10100000-0x101003e8, family RP2040 (0xe48bff56)" in steps[0]
    assert f"model.slot.uf2 (2,048 bytes) as {pico_drive / 'model.slot.uf2'}" in steps[2]
    assert sorted(p.name for p in pico_drive.iterdir()) == ["INFO_UF2.TXT"], "a dry run writes nothing"


def test_plan_without_a_drive_names_the_drive_it_finds_or_the_one_to_wait_for(
    uf2: Flasher, boards: dict[str, Board], tmp_path: Path, mounted: list[Path]
) -> None:
    job = FlashJob(tmp_path / "not_built_yet.uf2", boards["raspberry_pi_pico"])
    steps = [str(step) for step in uf2.plan(job)]
    assert steps[0] == f"Check that {job.firmware} is a UF2 file for RP2040"
    assert "the UF2 drive of a RP2040 chip (the one holding INFO_UF2.TXT) once it appears" in steps[2]
    mounted.append(make_drive(tmp_path, "NRF", XIAO_INFO))
    mounted.append(make_drive(tmp_path, "RPI-RP2", PICO_INFO))
    assert f"as {tmp_path / 'RPI-RP2' / 'not_built_yet.uf2'}" in str(uf2.plan(job)[2])


def test_uf2_flasher_copies_a_checked_file_and_waits_for_the_board_to_restart(
    uf2: Flasher, boards: dict[str, Board], tmp_path: Path, pico_drive: Path
) -> None:
    firmware = tmp_path / "model.uf2"
    data = make_uf2(firmware, os.urandom(60_000), RP2040)
    reports: list[float] = []
    lines: list[str] = []
    task = Task(on_progress=lambda fraction, status: reports.append(fraction), on_log=lines.append)
    bootloader = Bootloader(pico_drive)
    uf2.flash(FlashJob(firmware, boards["raspberry_pi_pico"], drive=str(pico_drive)), task)
    bootloader.join()
    assert bootloader.received == {"model.uf2": data}
    assert not pico_drive.exists()
    assert reports[-1] == 1.0 and len(reports) > 3 and reports == sorted(reports)
    assert any("restarted" in line for line in lines)


def test_a_slot_image_is_converted_and_written_at_the_boards_model_offset(
    uf2: Flasher, boards: dict[str, Board], tmp_path: Path, pico_drive: Path
) -> None:
    pico = boards["raspberry_pi_pico"]
    slot = tmp_path / "model.slot.bin"
    payload = os.urandom(30_000)
    slot.write_bytes(payload)
    bootloader = Bootloader(pico_drive)
    uf2.flash(FlashJob(slot, pico, drive=str(pico_drive), address=int(pico.model_offset, 0)), Task())
    bootloader.join()
    check_binary_blocks(spec_blocks(bootloader.received["model.slot.uf2"]), payload, 0x10100000, RP2040)
    assert not list(tmp_path.glob("workbench-uf2-*")), "the temporary UF2 is gone"


def test_on_rp2350_the_slot_goes_with_the_absolute_family_and_a_whole_image_with_the_e10_block(
    uf2: Flasher, boards: dict[str, Board], tmp_path: Path
) -> None:
    pico2 = boards["raspberry_pi_pico2"]
    slot = tmp_path / "model.slot.bin"
    payload = os.urandom(5000)
    slot.write_bytes(payload)
    drive = make_drive(tmp_path, "RP2350", PICO2_INFO)
    bootloader = Bootloader(drive)
    uf2.flash(FlashJob(slot, pico2, drive=str(drive), address=int(pico2.model_offset, 0)), Task())
    bootloader.join()
    check_binary_blocks(spec_blocks(bootloader.received["model.slot.uf2"]), payload, 0x10200000, ABSOLUTE)

    image = tmp_path / "firmware.bin"
    image.write_bytes(payload)
    drive = make_drive(tmp_path, "RP2350", PICO2_INFO)  # the board back in bootloader mode
    bootloader = Bootloader(drive)
    uf2.flash(FlashJob(image, pico2, drive=str(drive)), Task())
    bootloader.join()
    blocks = spec_blocks(bootloader.received["firmware.uf2"])
    assert (blocks[0]["family"], blocks[0]["address"], blocks[0]["number"], blocks[0]["total"]) == (
        ABSOLUTE,
        0x10FFFF00,
        0,
        2,
    )
    check_binary_blocks(blocks[1:], payload, 0x10000000, RP2350_ARM_S)


def test_a_bin_for_a_chip_without_a_fixed_place_or_a_bad_address_is_refused_before_the_drive_is_touched(
    uf2: Flasher, boards: dict[str, Board], tmp_path: Path, pico_drive: Path
) -> None:
    image = tmp_path / "app.bin"
    image.write_bytes(os.urandom(1000))
    xiao, pico = boards["xiao_nrf52840_sense"], boards["raspberry_pi_pico"]
    with pytest.raises(WorkbenchError, match="a raw binary for NRF52840 needs the address it goes to"):
        uf2.flash(FlashJob(image, xiao, drive=str(pico_drive)), Task())
    with pytest.raises(WorkbenchError, match="address 0x10100100 is not a multiple of 4096 bytes"):
        uf2.flash(FlashJob(image, pico, drive=str(pico_drive), address=0x10100100), Task())
    with pytest.raises(WorkbenchError, match=r"1,000 bytes at 0x10200000 do not fit Raspberry Pi Pico's flash"):
        uf2.plan(FlashJob(image, pico, drive=str(pico_drive), address=0x10200000))
    elf = tmp_path / "app.elf"
    elf.write_bytes(b"\x7fELF" + bytes(100))
    with pytest.raises(WorkbenchError, match="takes a .uf2 file or a raw binary, not an ELF file"):
        uf2.flash(FlashJob(elf, pico, drive=str(pico_drive)), Task())
    with pytest.raises(WorkbenchError, match="a UF2 file says where it goes"):
        uf2.flash(FlashJob(tmp_path / "x.uf2", pico, drive=str(pico_drive), address=0x10100000), Task())
    assert sorted(p.name for p in pico_drive.iterdir()) == ["INFO_UF2.TXT"]


def test_uf2_flasher_refuses_what_the_bootloader_would_ignore(
    uf2: Flasher, boards: dict[str, Board], tmp_path: Path, pico_drive: Path
) -> None:
    pico = boards["raspberry_pi_pico"]
    junk = tmp_path / "junk.uf2"
    junk.write_bytes(os.urandom(1024))
    nrf = tmp_path / "nrf.uf2"
    make_uf2(nrf, os.urandom(1000), NRF52840, address=0x27000)
    with pytest.raises(WorkbenchError, match="not a UF2 file"):
        uf2.flash(FlashJob(junk, pico, drive=str(pico_drive)), Task())
    with pytest.raises(WorkbenchError, match=r"UF2 family 0xada52840 is not the board's RP2040 \(0xe48bff56\)"):
        uf2.flash(FlashJob(nrf, pico, drive=str(pico_drive)), Task())
    assert sorted(p.name for p in pico_drive.iterdir()) == ["INFO_UF2.TXT"]
    xiao_drive = make_drive(tmp_path, "XIAO-SENSE", XIAO_INFO)
    bootloader = Bootloader(xiao_drive)
    uf2.flash(FlashJob(nrf, boards["xiao_nrf52840_sense"], drive=str(xiao_drive)), Task())
    bootloader.join()
    assert bootloader.received == {"nrf.uf2": nrf.read_bytes()}


def test_of_two_uf2_drives_the_flasher_writes_only_to_the_one_of_its_board(
    uf2: Flasher, boards: dict[str, Board], tmp_path: Path, mounted: list[Path]
) -> None:
    xiao_drive = make_drive(tmp_path, "XIAO-SENSE", XIAO_INFO)
    pico_drive = make_drive(tmp_path, "RPI-RP2", PICO_INFO, info_name="info_uf2.txt")  # FAT has no case
    mounted += [xiao_drive, pico_drive]
    firmware = tmp_path / "blink.uf2"
    data = make_uf2(firmware, os.urandom(3000), RP2040)
    bootloader = Bootloader(pico_drive)
    uf2.flash(FlashJob(firmware, boards["raspberry_pi_pico"]), Task())
    bootloader.join()
    assert bootloader.received == {"blink.uf2": data}
    assert sorted(p.name for p in xiao_drive.iterdir()) == ["INFO_UF2.TXT"]


def test_of_two_drives_of_one_chip_the_one_naming_the_board_is_chosen(
    uf2_module: types.ModuleType, boards: dict[str, Board], tmp_path: Path
) -> None:
    feather = make_drive(tmp_path, "FEATHERBOOT", FEATHER_M4_INFO)
    wio = make_drive(tmp_path, "Arduino", WIO_INFO)
    assert uf2_module.find_drive([feather, wio], boards["wio_terminal"]) == wio
    with pytest.raises(WorkbenchError, match="no UF2 drive of Raspberry Pi Pico found; .*another chip's"):
        uf2_module.find_drive([feather, wio], boards["raspberry_pi_pico"])


def test_find_drive_without_a_board_wants_exactly_one_uf2_drive(
    uf2_module: types.ModuleType, tmp_path: Path, pico_drive: Path
) -> None:
    other = tmp_path / "USB_STICK"
    other.mkdir()
    assert uf2_module.find_drive([other, pico_drive]) == pico_drive
    with pytest.raises(WorkbenchError, match="no UF2 drive found") as caught:
        uf2_module.find_drive([other])
    assert "bootloader mode" in caught.value.hint
    (other / "INFO_UF2.TXT").write_text(XIAO_INFO)
    with pytest.raises(WorkbenchError, match="2 UF2 drives found"):
        uf2_module.find_drive([other, pico_drive])


def test_a_folder_that_is_not_a_uf2_drive_or_is_another_chips_is_refused_in_one_sentence(
    uf2: Flasher, boards: dict[str, Board], tmp_path: Path
) -> None:
    firmware = tmp_path / "blink.uf2"
    make_uf2(firmware, os.urandom(600), RP2040)
    stick = tmp_path / "USB_STICK"
    stick.mkdir()
    pico = boards["raspberry_pi_pico"]
    with pytest.raises(WorkbenchError) as caught:
        uf2.flash(FlashJob(firmware, pico, drive=str(stick)), Task())
    assert caught.value.message == f"{stick} is not a UF2 bootloader drive (it has no INFO_UF2.TXT)"
    assert "bootloader mode" in caught.value.hint
    pico2_drive = make_drive(tmp_path, "RP2350", PICO2_INFO)
    with pytest.raises(WorkbenchError, match=r"drive of another chip's bootloader \(RP2350\), not Raspberry Pi Pico's"):
        uf2.flash(FlashJob(firmware, pico, drive=str(pico2_drive)), Task())
    assert list(stick.iterdir()) == [] and sorted(p.name for p in pico2_drive.iterdir()) == ["INFO_UF2.TXT"]


def test_cancel_mid_copy_leaves_no_partial_file(
    uf2: Flasher, boards: dict[str, Board], tmp_path: Path, pico_drive: Path
) -> None:
    firmware = tmp_path / "big.uf2"
    make_uf2(firmware, os.urandom(600_000), RP2040)
    task = Task(on_progress=lambda fraction, status: fraction > 0.2 and task.cancel())
    with pytest.raises(Cancelled):
        uf2.flash(FlashJob(firmware, boards["raspberry_pi_pico"], drive=str(pico_drive)), task)
    assert 0.2 < task.fraction < 0.9, "cancelled during the copy"
    assert sorted(p.name for p in pico_drive.iterdir()) == ["INFO_UF2.TXT"]


def test_a_failed_write_removes_its_partial_file_and_says_how_far_it_got(
    uf2: Flasher, boards: dict[str, Board], tmp_path: Path, pico_drive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    firmware = tmp_path / "blink.uf2"
    make_uf2(firmware, os.urandom(2560), RP2040)

    def failing_sync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_sync)
    with pytest.raises(WorkbenchError, match=r"writing stopped after 5,120 of 5,120 bytes \(Input/output error\)"):
        uf2.flash(FlashJob(firmware, boards["raspberry_pi_pico"], drive=str(pico_drive)), Task())
    assert sorted(p.name for p in pico_drive.iterdir()) == ["INFO_UF2.TXT"]


def test_a_board_that_restarts_before_the_file_is_synced_counts_as_flashed(
    uf2: Flasher, boards: dict[str, Board], tmp_path: Path, pico_drive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The RP2040 boot ROM restarts on the last block: the drive may be gone before fsync returns."""
    firmware = tmp_path / "blink.uf2"
    make_uf2(firmware, os.urandom(2560), RP2040)

    def drive_gone(fd: int) -> None:
        shutil.rmtree(pico_drive)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", drive_gone)
    task = Task()
    uf2.flash(FlashJob(firmware, boards["raspberry_pi_pico"], drive=str(pico_drive)), task)
    assert task.fraction == 1.0


def test_a_drive_that_does_not_go_away_is_reported(
    uf2: Flasher, boards: dict[str, Board], tmp_path: Path, pico_drive: Path
) -> None:
    firmware = tmp_path / "blink.uf2"
    make_uf2(firmware, os.urandom(512), RP2040)
    uf2.reboot_timeout_s = 0.2  # type: ignore[attr-defined]
    with pytest.raises(WorkbenchError, match="is still there 0.2 s after the copy: Raspberry Pi Pico did not restart"):
        uf2.flash(FlashJob(firmware, boards["raspberry_pi_pico"], drive=str(pico_drive)), Task())
    assert (pico_drive / "blink.uf2").read_bytes() == firmware.read_bytes(), "the copy itself was whole"
