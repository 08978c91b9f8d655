"""The host side of the firmware protocol: frames as docs/firmware-protocol.md lays them out, found
among the text the firmware printed before host mode, and a damaged frame skipped."""

from __future__ import annotations

import struct
import zlib

from workbench.firmware.protocol import HELLO, INFO, SYNC, BoardInfo, Frame, FrameReader, banner_fields, encode


def test_a_frame_is_sync_length_type_payload_and_the_crc_of_length_type_payload() -> None:
    frame = encode(HELLO, b"ab")
    assert frame[:2] == SYNC and frame[2:5] == struct.pack("<HB", 2, HELLO) and frame[5:7] == b"ab"
    assert struct.unpack("<I", frame[7:])[0] == zlib.crc32(frame[2:7])


def test_frames_are_found_among_text_and_across_reads_and_a_damaged_one_is_skipped() -> None:
    damaged = bytearray(encode(INFO, b"lost"))
    damaged[-1] ^= 0xFF
    stream = b"workbench-firmware fw=1\nyes:0.5\n" + bytes(damaged) + encode(INFO, b"slot=ok") + encode(HELLO)
    reader = FrameReader()
    frames = [frame for i in range(len(stream)) for frame in reader.feed(stream[i : i + 1])]
    assert frames == [Frame(INFO, b"slot=ok"), Frame(HELLO, b"")]
    assert reader.bad_frames >= 1
    assert reader.text.startswith(b"workbench-firmware fw=1\nyes:0.5\n")


def test_the_banner_and_info_read_as_fields() -> None:
    line = "workbench-firmware fw=1 slot=ok missing=- clock=cycles clock_hz=25000000"
    assert banner_fields(line) == {"fw": "1", "slot": "ok", "missing": "-", "clock": "cycles", "clock_hz": "25000000"}
    assert banner_fields("yes:0.5 no:0.5") is None
    info = BoardInfo.from_text("slot=ok missing=RFFT,SVDF inputs=1 outputs=1 in0=int8:9216 out0=int8:2")
    assert info.missing_ops == ["RFFT", "SVDF"] and not info.runnable
    assert (info.inputs[0].dtype, info.inputs[0].nbytes, info.outputs[0].nbytes) == ("int8", 9216, 2)
