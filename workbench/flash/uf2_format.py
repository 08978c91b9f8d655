"""The UF2 file format: 512-byte blocks, family IDs, RP2350's E10 block, the bootloader's INFO_UF2.TXT.

Written from the specification, https://github.com/microsoft/uf2 (README.md and
utils/uf2families.json). Each block is a 32-byte header of little-endian words (two start magics,
flags, target address, payload size, block number, total blocks, file size or family ID), 476
bytes of data of which the first `payload size` bytes are written, and the end magic. Raw binaries
are converted with 256-byte payloads, as the specification recommends ("always correct") and as
picotool and uf2conv.py write them; the unused rest of a page is zero, as both of them leave it.

RP2350 (Raspberry Pi's datasheet, erratum RP2350-E10): the A2 chip's boot ROM fails a drag-and-drop
onto a chip holding a partition table unless the file starts with one block of the "absolute"
family aimed at the end of flash, numbered 0 of 2. picotool adds that block (`--abs-block`) for
boards that support A2 chips, which the Pico 2 does, and since picotool 2.1 tags it with the
RP2_IGNORE_BLOCK extension so that A3 and later boot ROMs skip it. `binary_to_uf2` writes the
same block when asked (`e10_block_address`): the flasher asks for it for a whole RP2350 image at
the start of flash, never for data placed elsewhere (the model slot), which goes with the absolute
family itself and needs no workaround.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from workbench.core.errors import WorkbenchError

BLOCK_BYTES = 512
HEADER_BYTES = 32
DATA_BYTES = 476
PAYLOAD_BYTES = 256
MAGIC_START0 = 0x0A324655  # "UF2\n"
MAGIC_START1 = 0x9E5D5157
MAGIC_END = 0x0AB16F30

FLAG_NOT_MAIN_FLASH = 0x00000001
FLAG_FILE_CONTAINER = 0x00001000
FLAG_FAMILY_ID = 0x00002000
FLAG_MD5 = 0x00004000
FLAG_EXTENSION_TAGS = 0x00008000

INFO_FILE = "INFO_UF2.TXT"

# Raspberry Pi's extension tag (size 4, type 0x9957e3): "boot ROMs that know this erratum skip the block".
EXTENSION_RP2_IGNORE_BLOCK = 0x9957E304
# picotool's default target of the E10 block: the last page of the 16 MiB flash window.
RP2350_E10_BLOCK_ADDRESS = 0x10FFFF00

_HEADER = struct.Struct("<8I")
_END = struct.Struct("<I")

# utils/uf2families.json: short name -> family ID.
FAMILIES: dict[str, int] = {
    "ATMEGA32": 0x16573617,
    "SAML21": 0x1851780A,
    "NRF52": 0x1B57745F,
    "ESP32": 0x1C5F21B0,
    "STM32L1": 0x1E1F432D,
    "STM32L0": 0x202E3A91,
    "STM32WL": 0x21460FF0,
    "RTL8710B": 0x22E0D6FC,
    "LPC55": 0x2ABC77EC,
    "STM32G0": 0x300F5633,
    "GD32F350": 0x31D228C6,
    "RTL8720D": 0x3379CFE2,
    "STM32L5": 0x04240BDF,
    "STM32G4": 0x4C71240A,
    "MIMXRT10XX": 0x4FB2D5BD,
    "XR809": 0x51E903A8,
    "STM32F7": 0x53B80F00,
    "SAMD51": 0x55114460,
    "STM32F4": 0x57755A57,
    "FX2": 0x5A18069B,
    "STM32F2": 0x5D1A0A2E,
    "STM32F1": 0x5EE21072,
    "NRF52833": 0x621E937A,
    "STM32F0": 0x647824B6,
    "BK7231U": 0x675A40B0,
    "SAMD21": 0x68ED2B88,
    "BK7251": 0x6A82CC42,
    "STM32F3": 0x6B846188,
    "STM32F407": 0x6D0922FA,
    "STM32H7": 0x6DB66082,
    "STM32WB": 0x70D16653,
    "BK7231N": 0x7B3EF230,
    "ESP8266": 0x7EAB61ED,
    "KL32L2": 0x7F83E793,
    "STM32F407VG": 0x8FB060FE,
    "RTL8710A": 0x9FFFD543,
    "NRF52840": 0xADA52840,
    "ESP32S2": 0xBFDD4EEE,
    "ESP32S3": 0xC47E5767,
    "ESP32C3": 0xD42BA06C,
    "ESP32C2": 0x2B88D29C,
    "ESP32H2": 0x332726F6,
    "ESP32C6": 0x540DDF62,
    "ESP32P4": 0x3D308E94,
    "ESP32C5": 0xF71C0343,
    "ESP32C61": 0x77D850C4,
    "BL602": 0xDE1270B7,
    "RTL8720C": 0xE08F7564,
    "RP2040": 0xE48BFF56,
    "RP2XXX_ABSOLUTE": 0xE48BFF57,
    "RP2XXX_DATA": 0xE48BFF58,
    "RP2350_ARM_S": 0xE48BFF59,
    "RP2350_RISCV": 0xE48BFF5A,
    "RP2350_ARM_NS": 0xE48BFF5B,
    "STM32L4": 0x00FF6919,
    "GD32VF103": 0x9AF03E33,
    "CSK4": 0x4F6ACE52,
    "CSK6": 0x6E7348A8,
    "M0SENSE": 0x11DE784A,
    "MAIXPLAY_U4": 0x4B684D71,
    "RZA1LU": 0x9517422F,
    "STM32F411XE": 0x2DC309C5,
    "STM32F411XC": 0x06D1097B,
    "NRF52832XXAA": 0x72721D4E,
    "NRF52832XXAB": 0x6F752678,
    "AT32F415": 0xA0C97B8E,
    "CH32V": 0x699B62EC,
    "RA4M1": 0x7BE8976D,
}
_ALIASES = {"ABSOLUTE": "RP2XXX_ABSOLUTE", "DATA": "RP2XXX_DATA", "RP2350": "RP2350_ARM_S"}
FAMILY_RP2040 = FAMILIES["RP2040"]
FAMILY_ABSOLUTE = FAMILIES["RP2XXX_ABSOLUTE"]
# Every family an RP2350 boot ROM takes (which one lands where depends on its partition table).
RP2350_FAMILIES = frozenset(FAMILIES[name] for name in FAMILIES if name.startswith(("RP2350_", "RP2XXX_")))

# Where flash starts for a chip's raw binaries when no address is given: the RP chips' flash
# window; the UF2 bootloaders' application start on SAMD21 (8 KiB bootloader) and SAMD51 (16 KiB),
# as uf2-samdx1 and uf2conv.py use. nRF52840 has none: it depends on the SoftDevice flashed.
FLASH_WINDOW = {"RP2040": 0x10000000, "RP2350": 0x10000000}
DEFAULT_BINARY_ADDRESS = {"RP2040": 0x10000000, "RP2350": 0x10000000, "SAMD21": 0x2000, "SAMD51": 0x4000}


def normalize_family(name: str) -> str:
    """The specification's short name for a board's `uf2_family` ("RP2350-ARM-S" -> "RP2350_ARM_S")."""
    key = name.strip().upper().replace("-", "_").replace(" ", "_")
    return _ALIASES.get(key, key)


def family_id(name: str) -> int | None:
    """The UF2 family ID for a family name ("RP2350-ARM-S", "rp2350_arm_s" alike); None if unknown."""
    return FAMILIES.get(normalize_family(name))


def family_name(family: int) -> str:
    """The short name of a family ID, or its hex value when the list does not have it."""
    for name, value in FAMILIES.items():
        if value == family:
            return name
    return f"0x{family:08x}"


def chip_of(name: str) -> str:
    """The chip a family belongs to: "RP2350" for all RP2350 families, else the family itself."""
    family = normalize_family(name)
    return "RP2350" if family.startswith("RP2350") else family


def accepted_families(name: str) -> frozenset[int]:
    """The family IDs the bootloader of a chip of family `name` writes (empty if unknown)."""
    if chip_of(name) == "RP2350":
        return RP2350_FAMILIES
    found = family_id(name)
    return frozenset() if found is None else frozenset({found})


def flash_start(name: str) -> int:
    """Where a chip's flash is addressed from: 0x10000000 on RP chips, 0 on the others."""
    return FLASH_WINDOW.get(chip_of(name), 0)


def default_binary_address(name: str) -> int | None:
    """Where a raw binary goes when no address is given, or None when the chip has no fixed place."""
    return DEFAULT_BINARY_ADDRESS.get(chip_of(name))


def erase_bytes(name: str) -> int:
    """The alignment a raw binary's address needs: RP boot ROMs erase whole 4 KiB sectors, so data
    starting inside one would erase what is in front of it; otherwise a 256-byte page."""
    return 4096 if chip_of(name) in FLASH_WINDOW else PAYLOAD_BYTES


@dataclass(frozen=True)
class Block:
    """One UF2 block, its header fields named as in the specification."""

    flags: int
    address: int
    payload_size: int
    block_number: int
    total_blocks: int
    size_or_family: int
    data: bytes  # all 476 bytes

    @property
    def family(self) -> int | None:
        """The family ID when the block carries one (flag 0x2000)."""
        return self.size_or_family if self.flags & FLAG_FAMILY_ID else None

    @property
    def payload(self) -> bytes:
        """The bytes the bootloader writes at `address`."""
        return self.data[: self.payload_size]

    @property
    def main_flash(self) -> bool:
        """Whether the bootloader writes this block to flash (not a comment, not a file container)."""
        return not self.flags & (FLAG_NOT_MAIN_FLASH | FLAG_FILE_CONTAINER)

    @property
    def is_e10_block(self) -> bool:
        """Whether this is the RP2350-E10 workaround block picotool puts first (absolute family,
        0xEF payload, block 0 of 2)."""
        return (
            self.family == FAMILY_ABSOLUTE
            and self.block_number == 0
            and self.total_blocks == 2
            and self.payload_size == PAYLOAD_BYTES
            and self.payload == b"\xef" * PAYLOAD_BYTES
        )

    def pack(self) -> bytes:
        """The 512 bytes of this block."""
        header = _HEADER.pack(
            MAGIC_START0,
            MAGIC_START1,
            self.flags,
            self.address,
            self.payload_size,
            self.block_number,
            self.total_blocks,
            self.size_or_family,
        )
        return header + self.data.ljust(DATA_BYTES, b"\0")[:DATA_BYTES] + _END.pack(MAGIC_END)


def parse_blocks(data: bytes, source: str = "the file") -> list[Block]:
    """The blocks of a UF2 file; raises WorkbenchError naming `source` if it is not one."""
    if not data or len(data) % BLOCK_BYTES:
        raise WorkbenchError(
            f"{source}: not a UF2 file (not whole 512-byte blocks)", "Build or export a .uf2 file, or give a .bin."
        )
    blocks = []
    for offset in range(0, len(data), BLOCK_BYTES):
        start0, start1, flags, address, size, number, total, family = _HEADER.unpack_from(data, offset)
        (end,) = _END.unpack_from(data, offset + BLOCK_BYTES - 4)
        index = offset // BLOCK_BYTES
        if (start0, start1, end) != (MAGIC_START0, MAGIC_START1, MAGIC_END):
            raise WorkbenchError(f"{source}: not a UF2 file (block {index} has no UF2 magic numbers)")
        if size > DATA_BYTES:
            raise WorkbenchError(f"{source}: block {index} claims {size} payload bytes (at most {DATA_BYTES})")
        data_start = offset + HEADER_BYTES
        blocks.append(
            Block(flags, address, size, number, total, family, bytes(data[data_start : data_start + DATA_BYTES]))
        )
    return blocks


def read_uf2(path: Path) -> list[Block]:
    """The blocks of the UF2 file at `path`; raises WorkbenchError if unreadable or not UF2."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise WorkbenchError(f"{path}: cannot read the firmware ({error.strerror or error})") from None
    return parse_blocks(data, str(path))


def looks_like_uf2(head: bytes) -> bool:
    """Whether bytes start with a UF2 block's two start magics."""
    return len(head) >= 8 and struct.unpack_from("<II", head) == (MAGIC_START0, MAGIC_START1)


@dataclass(frozen=True)
class Uf2Summary:
    """What a UF2 file holds: its blocks, the families of the blocks that are flashed, their addresses."""

    blocks: int
    families: frozenset[int]
    first_address: int
    end_address: int  # one past the last written byte
    e10_block: bool

    def describe(self) -> str:
        """'240 blocks for 0x10000000-0x1000f000, family RP2040 (0xe48bff56)'."""
        names = ", ".join(f"{family_name(f)} (0x{f:08x})" for f in sorted(self.families)) or "no family ID"
        e10 = " and the RP2350-E10 block" if self.e10_block else ""
        return f"{self.blocks} blocks for 0x{self.first_address:08x}-0x{self.end_address:08x}{e10}, family {names}"


def summarize(blocks: list[Block]) -> Uf2Summary:
    """Families and address range of the blocks a bootloader writes (the E10 block left aside)."""
    written = [b for b in blocks if b.main_flash and not b.is_e10_block]
    families = frozenset(b.family for b in written if b.family is not None)
    first = min((b.address for b in written), default=0)
    end = max((b.address + b.payload_size for b in written), default=0)
    return Uf2Summary(len(blocks), families, first, end, any(b.is_e10_block for b in blocks))


def check_family(blocks: list[Block], family: str, source: str) -> None:
    """Raises WorkbenchError if no block is for a chip of `family` (its bootloader would ignore the file).

    Files whose blocks carry no family ID at all are let through: older tools wrote them and many
    bootloaders take them.
    """
    wanted = accepted_families(family)
    found = summarize(blocks).families
    if not wanted or not found or wanted & found:
        return
    names = ", ".join(f"0x{f:08x}" for f in sorted(found))
    own = family_id(family)
    raise WorkbenchError(
        f"{source}: UF2 family {names} is not the board's {family} (0x{own or 0:08x})",
        "The bootloader would ignore it: build the firmware for this board.",
    )


def e10_block(address: int = RP2350_E10_BLOCK_ADDRESS) -> Block:
    """The RP2350-E10 workaround block as picotool 2.1+ writes it: absolute family, block 0 of 2,
    256 bytes of 0xEF, tagged RP2_IGNORE_BLOCK for boot ROMs that have the fix."""
    data = b"\xef" * PAYLOAD_BYTES + struct.pack("<I", EXTENSION_RP2_IGNORE_BLOCK)
    return Block(FLAG_FAMILY_ID | FLAG_EXTENSION_TAGS, address, PAYLOAD_BYTES, 0, 2, FAMILY_ABSOLUTE, data)


def binary_blocks(data: bytes, address: int, family: int | None) -> list[Block]:
    """Blocks that write `data` from `address` on, 256 bytes each, numbered 0..n-1 of n.

    `address` must be a multiple of 256 (the flasher checks the stricter alignment of its chip);
    the last page is padded with zeros. With `family` the blocks carry it (flag 0x2000).
    """
    if not data:
        raise ValueError("no data to convert")
    if address % PAYLOAD_BYTES or address < 0 or address + len(data) > 1 << 32:
        raise ValueError(f"address 0x{address:x} is not a 256-byte page inside the 32-bit address space")
    flags = FLAG_FAMILY_ID if family is not None else 0
    total = (len(data) + PAYLOAD_BYTES - 1) // PAYLOAD_BYTES
    return [
        Block(
            flags,
            address + PAYLOAD_BYTES * number,
            PAYLOAD_BYTES,
            number,
            total,
            family if family is not None else 0,
            data[PAYLOAD_BYTES * number : PAYLOAD_BYTES * (number + 1)].ljust(PAYLOAD_BYTES, b"\0"),
        )
        for number in range(total)
    ]


def binary_to_uf2(data: bytes, address: int, family: int | None, *, e10_block_address: int | None = None) -> bytes:
    """A UF2 file writing `data` at `address` for `family` (see `binary_blocks`).

    With `e10_block_address`, the RP2350-E10 block aimed there comes first (see the module docstring).
    """
    blocks = binary_blocks(data, address, family)
    if e10_block_address is not None:
        blocks.insert(0, e10_block(e10_block_address))
    return b"".join(block.pack() for block in blocks)


def uf2_bytes_for(binary_bytes: int, *, e10: bool = False) -> int:
    """The size of the UF2 file `binary_to_uf2` makes from a binary of `binary_bytes`."""
    return BLOCK_BYTES * ((binary_bytes + PAYLOAD_BYTES - 1) // PAYLOAD_BYTES + (1 if e10 else 0))


@dataclass(frozen=True)
class DriveInfo:
    """What a UF2 bootloader says of itself in INFO_UF2.TXT ("Model:", "Board-ID:" and the first line)."""

    text: str
    bootloader: str = ""
    model: str = ""
    board_id: str = ""

    @property
    def cpu(self) -> str:
        """The Board-ID's first dash-separated token, the CPU type by the specification ("SAMD51J19A")."""
        return self.board_id.split("-")[0]


def parse_info(text: str) -> DriveInfo:
    """Read an INFO_UF2.TXT; fields it lacks are empty."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    fields: dict[str, str] = {}
    for line in lines:
        key, colon, value = line.partition(":")
        if colon and key.strip().lower() not in fields:
            fields[key.strip().lower()] = value.strip()
    bootloader = lines[0] if lines and ":" not in lines[0] else ""
    return DriveInfo(text, bootloader, fields.get("model", ""), fields.get("board-id", ""))
