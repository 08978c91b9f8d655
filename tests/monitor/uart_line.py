"""What a UART receiver reads from a transmitter at another baud rate: 8N1 frames sent back to back
at `tx_baud`, sampled as a receiver at `rx_baud` does (wait for a falling edge, sample each bit in
the middle of its cell, a stop bit that is low is a framing error, read as a NUL as Linux's tty
layer gives it). At equal rates the bytes come through unchanged.
"""

from __future__ import annotations

import math


def received(data: bytes, tx_baud: int, rx_baud: int) -> bytes:
    """The bytes a receiver at `rx_baud` reads from `data` sent at `tx_baud`."""
    bit_s = 1.0 / tx_baud
    frames = len(data)

    def level(t: float) -> int:
        cell = math.floor(t / bit_s + 1e-9)
        frame, bit = divmod(cell, 10)
        if cell < 0 or frame >= frames:
            return 1  # idle line
        if bit == 0:
            return 0  # start bit
        if bit == 9:
            return 1  # stop bit
        return (data[frame] >> (bit - 1)) & 1

    out = bytearray()
    end_s = frames * 10 * bit_s
    rx_bit_s = 1.0 / rx_baud
    edge = 0  # the transmitter's bit cell index where the search for a falling edge goes on
    while True:
        # A falling edge can only come at a boundary between the transmitter's bit cells.
        while edge * bit_s < end_s and not (level((edge - 0.5) * bit_s) == 1 and level((edge + 0.5) * bit_s) == 0):
            edge += 1
        start = edge * bit_s
        if start >= end_s:
            return bytes(out)
        if level(start + 0.5 * rx_bit_s) != 0:  # a glitch, not a start bit
            edge += 1
            continue
        value = 0
        for bit in range(8):
            value |= level(start + (1.5 + bit) * rx_bit_s) << bit
        stop_ok = level(start + 9.5 * rx_bit_s) == 1
        out.append(value if stop_ok else 0)
        edge = math.ceil((start + 9.5 * rx_bit_s) / bit_s - 1e-9)
