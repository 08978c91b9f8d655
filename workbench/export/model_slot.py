"""The model slot: a model flashed on its own, found by firmware without being rebuilt.

A slot image is a 16-byte header (magic, format version, model length, CRC-32 of the model,
all little-endian) followed by the .tflite bytes unchanged, padded with 0xFF (erased flash) to
a multiple of 16 bytes. The format is documented in docs/model-slot.md; the generated
model_slot.h/.c(c) read it on the board and fall back to the compiled-in model when the slot
holds no valid model.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from workbench.core.errors import WorkbenchError
from workbench.core.tflite_file import TFLITE_IDENTIFIER

SLOT_MAGIC = b"TMWS"  # "TinyML Workbench slot"
SLOT_VERSION = 1
HEADER_BYTES = 16
ALIGN_BYTES = 16  # the model starts 16 bytes into the slot, and the image is a multiple of this
PAD_BYTE = 0xFF  # what erased flash reads as
DEFAULT_SLOT_BYTES = 1024 * 1024  # MODEL_SLOT_SIZE when the firmware does not define it
_HEADER = struct.Struct("<4sIII")

# model_slot_check() results, in the order of the C enum.
STATUSES = ("ok", "no address", "bad magic", "bad version", "bad length", "bad CRC")


@dataclass(frozen=True)
class SlotHeader:
    magic: bytes
    version: int
    length: int
    crc32: int


def slot_image(tflite: bytes) -> bytes:
    """What gets flashed at the board's model slot: header, the model unchanged, 0xFF padding."""
    if len(tflite) < 8 or tflite[4:8] != TFLITE_IDENTIFIER:
        raise WorkbenchError(
            "the bytes for the model slot are not a TFLite model (no 'TFL3' identifier)",
            "Flash a .tflite file into the model slot.",
        )
    if len(tflite) > 0xFFFFFFFF - HEADER_BYTES:
        raise WorkbenchError(f"a {len(tflite):,}-byte model is too large for a model slot")
    header = _HEADER.pack(SLOT_MAGIC, SLOT_VERSION, len(tflite), zlib.crc32(tflite) & 0xFFFFFFFF)
    image = header + tflite
    padding = -len(image) % ALIGN_BYTES
    return image + bytes([PAD_BYTE]) * padding


def read_header(image: bytes) -> SlotHeader:
    """The header fields of a slot image (not checked)."""
    if len(image) < HEADER_BYTES:
        raise WorkbenchError(f"a model slot image needs at least {HEADER_BYTES} bytes; this one has {len(image)}")
    magic, version, length, crc = _HEADER.unpack_from(image)
    return SlotHeader(magic, version, length, crc)


def slot_status(image: bytes, slot_bytes: int = DEFAULT_SLOT_BYTES) -> str:
    """What the generated model_slot_check() says of `image` in a slot of `slot_bytes`: one of STATUSES."""
    if len(image) < HEADER_BYTES:
        return "bad magic"
    header = read_header(image)
    if header.magic != SLOT_MAGIC:
        return "bad magic"
    if header.version != SLOT_VERSION:
        return "bad version"
    if header.length == 0 or header.length > slot_bytes - HEADER_BYTES or HEADER_BYTES + header.length > len(image):
        return "bad length"
    model = image[HEADER_BYTES : HEADER_BYTES + header.length]
    if zlib.crc32(model) & 0xFFFFFFFF != header.crc32:
        return "bad CRC"
    return "ok"


def slot_model(image: bytes, slot_bytes: int = DEFAULT_SLOT_BYTES) -> bytes:
    """The model in a slot image; WorkbenchError saying what is wrong when the slot is not valid."""
    status = slot_status(image, slot_bytes)
    if status != "ok":
        raise WorkbenchError(f"the model slot image is not valid: {status}")
    length = read_header(image).length
    return image[HEADER_BYTES : HEADER_BYTES + length]


def _crc_nibble_table() -> list[int]:
    """CRC-32 (reflected, polynomial 0xEDB88320) of each 4-bit value: a 16-entry table."""
    table = []
    for nibble in range(16):
        crc = nibble
        for _ in range(4):
            crc = (crc >> 1) ^ (0xEDB88320 if crc & 1 else 0)
        table.append(crc)
    return table


def slot_header_text(*, slot_address: int | None = None, board: str = "") -> str:
    """model_slot.h: the slot reader's declarations (C and C++)."""
    magic = ", ".join(f"0x{b:02X}" for b in SLOT_MAGIC)
    address = ""
    if slot_address is not None:
        address = (
            f"/* Where {board or 'the board'} keeps its model slot (model_offset in its board file): the\n"
            "   flasher writes slot images there. */\n"
            "#ifndef MODEL_SLOT_ADDRESS\n"
            f"#define MODEL_SLOT_ADDRESS 0x{slot_address:08X}u\n"
            "#endif\n\n"
        )
    return f"""\
/* model_slot.h - find a model flashed on its own into a model slot, else use the compiled-in one.
   Written by TinyML Workbench. The slot format (docs/model-slot.md in TinyML Workbench):
     offset  0: magic "{SLOT_MAGIC.decode()}" ({magic})
     offset  4: format version, {SLOT_VERSION} (32-bit little-endian)
     offset  8: length of the model in bytes (32-bit little-endian)
     offset 12: CRC-32 of the model (the zlib/PNG CRC-32, 32-bit little-endian)
     offset {HEADER_BYTES}: the .tflite bytes, unchanged; the image is padded with 0xFF to a multiple of {ALIGN_BYTES}.
   Give the slot a {ALIGN_BYTES}-byte aligned address so that the model is aligned too. */
#ifndef MODEL_SLOT_H_
#define MODEL_SLOT_H_

#ifdef __cplusplus
extern "C" {{
#endif

/* Bytes reserved for the slot at its address, header included: a slot whose length field says
   more is refused before a byte past it is read. Define it to what your board reserves
   (-DMODEL_SLOT_SIZE=...); the default is {DEFAULT_SLOT_BYTES // 1024} KB. */
#ifndef MODEL_SLOT_SIZE
#define MODEL_SLOT_SIZE {DEFAULT_SLOT_BYTES}u
#endif

{address}#define MODEL_SLOT_VERSION {SLOT_VERSION}u
#define MODEL_SLOT_HEADER_SIZE {HEADER_BYTES}u

/* What model_slot_check() finds at a slot address. */
enum {{
  MODEL_SLOT_OK = 0,           /* a whole model of this format */
  MODEL_SLOT_NO_ADDRESS = 1,   /* the address is null */
  MODEL_SLOT_BAD_MAGIC = 2,    /* no slot there (erased flash, or something else) */
  MODEL_SLOT_BAD_VERSION = 3,  /* a slot of another format version */
  MODEL_SLOT_BAD_LENGTH = 4,   /* the length is 0 or runs past MODEL_SLOT_SIZE */
  MODEL_SLOT_BAD_CRC = 5       /* the model was not written whole, or was changed */
}};

/* Checks the slot at `slot_address` (header and CRC of the whole model); on MODEL_SLOT_OK sets
   *length (when length is not null) to the model's length. Reads the whole model once. */
int model_slot_check(const unsigned char* slot_address, unsigned int* length);

/* The model in the slot at `slot_address` when the slot is valid, else the compiled-in model
   (g_model); sets *length (when length is not null) to the length of the model returned. */
const unsigned char* model_slot_find(const unsigned char* slot_address, unsigned int* length);

/* A few words for a model_slot_check() result, for a log line. */
const char* model_slot_status_text(int status);

#ifdef __cplusplus
}}
#endif

#endif /* MODEL_SLOT_H_ */
"""


def slot_source_text(symbol: str) -> str:
    """model_slot.c / model_slot.cc: the slot reader, falling back to `symbol` (the compiled-in model)."""
    table = _crc_nibble_table()
    rows = [", ".join(f"0x{v:08X}UL" for v in table[i : i + 4]) for i in range(0, 16, 4)]
    table_text = ",\n      ".join(rows)
    magic = ", ".join(f"0x{b:02X}" for b in SLOT_MAGIC)
    return f"""\
/* model_slot - the reader of the model slot declared in model_slot.h. Written by TinyML Workbench. */
#include "model_slot.h"

#include <stddef.h>

#include "model_data.h"

static unsigned long model_slot_u32(const unsigned char* bytes) {{
  return (unsigned long)bytes[0] | ((unsigned long)bytes[1] << 8) | ((unsigned long)bytes[2] << 16) |
         ((unsigned long)bytes[3] << 24);
}}

/* CRC-32 as zlib computes it (reflected, polynomial 0xEDB88320), four bits at a time. */
static unsigned long model_slot_crc32(const unsigned char* bytes, unsigned long length) {{
  static const unsigned long kNibbles[16] = {{
      {table_text}}};
  unsigned long crc = 0xFFFFFFFFUL;
  unsigned long i;
  for (i = 0; i < length; ++i) {{
    crc ^= (unsigned long)bytes[i];
    crc = (crc >> 4) ^ kNibbles[crc & 15UL];
    crc = (crc >> 4) ^ kNibbles[crc & 15UL];
  }}
  return (crc ^ 0xFFFFFFFFUL) & 0xFFFFFFFFUL;
}}

int model_slot_check(const unsigned char* slot_address, unsigned int* length) {{
  static const unsigned char kMagic[4] = {{{magic}}};
  unsigned long model_length;
  int i;
  if (slot_address == NULL) {{
    return MODEL_SLOT_NO_ADDRESS;
  }}
  for (i = 0; i < 4; ++i) {{
    if (slot_address[i] != kMagic[i]) {{
      return MODEL_SLOT_BAD_MAGIC;
    }}
  }}
  if (model_slot_u32(slot_address + 4) != MODEL_SLOT_VERSION) {{
    return MODEL_SLOT_BAD_VERSION;
  }}
  model_length = model_slot_u32(slot_address + 8);
  if (model_length == 0UL || (unsigned long)MODEL_SLOT_SIZE < MODEL_SLOT_HEADER_SIZE ||
      model_length > (unsigned long)MODEL_SLOT_SIZE - MODEL_SLOT_HEADER_SIZE) {{
    return MODEL_SLOT_BAD_LENGTH;
  }}
  if (model_slot_crc32(slot_address + MODEL_SLOT_HEADER_SIZE, model_length) != model_slot_u32(slot_address + 12)) {{
    return MODEL_SLOT_BAD_CRC;
  }}
  if (length != NULL) {{
    *length = (unsigned int)model_length;
  }}
  return MODEL_SLOT_OK;
}}

const unsigned char* model_slot_find(const unsigned char* slot_address, unsigned int* length) {{
  unsigned int found = 0;
  if (model_slot_check(slot_address, &found) == MODEL_SLOT_OK) {{
    if (length != NULL) {{
      *length = found;
    }}
    return slot_address + MODEL_SLOT_HEADER_SIZE;
  }}
  if (length != NULL) {{
    *length = {symbol}_len;
  }}
  return {symbol};
}}

const char* model_slot_status_text(int status) {{
  switch (status) {{
    case MODEL_SLOT_OK:
      return "model slot: valid";
    case MODEL_SLOT_NO_ADDRESS:
      return "model slot: no address";
    case MODEL_SLOT_BAD_MAGIC:
      return "model slot: empty (no slot magic)";
    case MODEL_SLOT_BAD_VERSION:
      return "model slot: another format version";
    case MODEL_SLOT_BAD_LENGTH:
      return "model slot: length past the slot";
    case MODEL_SLOT_BAD_CRC:
      return "model slot: CRC mismatch (incomplete or changed)";
    default:
      return "model slot: unknown status";
  }}
}}
"""
