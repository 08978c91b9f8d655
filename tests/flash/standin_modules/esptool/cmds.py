"""esptool.cmds stand-in: the public API functions with esptool 5.6.0's signatures.

A pretend chip (settings "chip", default ESP32-S3) answers on any port. "fail" simulates, with
esptool's and pyserial's own exception classes and words: "open-permission", "open-missing",
"open-busy" (esptool's FatalError around pyserial's message), "serial-permission" (pyserial's
SerialException itself), "no-answer", "lost" (the port dies half way through writing) and "md5".
Writing sends "blocks" blocks (default one per 16 KB), waiting "delay_s" before each.
"""

from __future__ import annotations

import time
from pathlib import Path

import serial

from ._standin import SETTINGS, failure, record
from .logger import log
from .util import FatalError

DEFAULT_PORT = "/dev/ttyUSB0"
ESP_ROM_BAUD = 115200
DEFAULT_CONNECT_ATTEMPTS = 7
FLASH_WRITE_SIZE = 0x4000
TROUBLESHOOTING = "https://docs.espressif.com/projects/esptool/en/latest/troubleshooting.html"
BOOTLOADER_OFFSETS = {"ESP32": 0x1000, "ESP32-S2": 0x1000, "ESP32-P4": 0x2000, "ESP32-C5": 0x2000}


class ESPLoader:
    """A connection to the pretend chip; closes its port when used in a with statement."""

    def __init__(self, port: str, chip: str, is_stub: bool = False) -> None:
        self.port = port
        self.CHIP_NAME = chip
        self.BOOTLOADER_FLASH_OFFSET = BOOTLOADER_OFFSETS.get(chip, 0x0)
        self.IS_STUB = is_stub
        self.secure_download_mode = False

    def change_baud(self, baud: int) -> None:
        record("change_baud", baud=baud)

    def __enter__(self) -> ESPLoader:
        return self

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        record("close", port=self.port)


def _open_failure(port: str, errno: int, reason: str, hint: str = "") -> FatalError:
    """esptool's FatalError around pyserial's SerialException(errno, "could not open port ...")."""
    return FatalError(
        f"Could not open {port}, the port is busy or doesn't exist.\n({serial.SerialException(errno, reason)})\n"
        + (f"\nHint: {hint}\n" if hint else "")
    )


def detect_chip(
    port: str = DEFAULT_PORT,
    baud: int = ESP_ROM_BAUD,
    connect_mode: str = "default-reset",
    trace_enabled: bool = False,
    connect_attempts: int = DEFAULT_CONNECT_ATTEMPTS,
):
    record("detect_chip", port=port, baud=baud, connect_mode=connect_mode)
    fail = failure()
    if fail == "open-permission":
        reason = f"could not open port {port}: [Errno 13] Permission denied: '{port}'"
        raise _open_failure(port, 13, reason, "Try to add user into dialout or uucp group.")
    if fail == "open-missing":
        reason = f"could not open port {port}: [Errno 2] No such file or directory: '{port}'"
        raise _open_failure(port, 2, reason, "Check if the port is correct and ESP connected")
    if fail == "open-busy":
        reason = f"Could not exclusively lock port {port}: [Errno 11] Resource temporarily unavailable"
        raise _open_failure(port, 11, reason)
    if fail == "serial-permission":
        raise serial.SerialException(13, f"could not open port {port}: [Errno 13] Permission denied: '{port}'")
    log.print("Connecting...", end="")
    if fail == "no-answer":
        for _ in range(5):
            log.print(".", end="")
        log.print("")
        raise FatalError(
            f"Failed to connect to Espressif device: No serial data received.\nFor troubleshooting steps visit: {TROUBLESHOOTING}"
        )
    log.print("")
    chip = SETTINGS.get("chip", "ESP32-S3")
    log.print("Detecting chip type...", end="")
    log.print(f" {chip}")
    return ESPLoader(port, chip)


def run_stub(esp, plugins: list[str] | None = None):
    record("run_stub", chip=esp.CHIP_NAME)
    log.print("Uploading stub flasher...")
    log.print("Running stub flasher...")
    return ESPLoader(esp.port, esp.CHIP_NAME, is_stub=True)


def attach_flash(esp, spi_connection=None, flash_type: str = "nor") -> None:
    record("attach_flash", spi_connection=spi_connection, flash_type=flash_type)


def _bytes(data) -> bytes:
    return Path(data).read_bytes() if isinstance(data, str) else bytes(data)


def write_flash(
    esp,
    addr_data,
    flash_freq: str = "keep",
    flash_mode: str = "keep",
    flash_size: str = "keep",
    flash_type: str = "nor",
    **kwargs,
) -> None:
    record(
        "write_flash",
        addr_data=[[address, str(data)] for address, data in addr_data],
        flash_size=flash_size,
        stub=esp.IS_STUB,
        kwargs=sorted(kwargs),
    )
    delay = float(SETTINGS.get("delay_s", 0.0))
    for address, data in addr_data:
        image = _bytes(data)
        blocks = int(SETTINGS.get("blocks", 0)) or max(1, -(-len(image) // FLASH_WRITE_SIZE))
        log.print(f"Flash will be erased from {address:#010x} to {address + len(image) - 1:#010x}...")
        for block in range(blocks):
            time.sleep(delay)
            if failure() == "lost" and block == blocks // 2:
                raise serial.SerialException("write failed: [Errno 5] Input/output error")
            written = len(image) * (block + 1) // blocks
            log.progress_bar(block + 1, blocks, prefix=f"Writing at {address + written:#010x} ", suffix="")
        log.print(f"Wrote {len(image)} bytes at {address:#010x}.")
        log.print("Verifying written data...")
        if failure() == "md5":
            log.print("Input MD5: 0c9ef3a8e7a8e71ec5ef1bcf5a5d2f3c")
            log.print("Flash MD5: 5d0e7a3f1d77b3a2b2b0c3a4f0e5c6d7")
            raise FatalError("MD5 of file does not match data in flash!")
        log.print("Hash of data verified.")
    record("write_flash finished")


def verify_flash(
    esp,
    addr_data,
    flash_freq: str = "keep",
    flash_mode: str = "keep",
    flash_size: str = "keep",
    diff: bool = False,
    flash_type: str = "nor",
) -> None:
    record("verify_flash", addr_data=[[address, str(data)] for address, data in addr_data])
    for address, data in addr_data:
        size = len(_bytes(data))
        log.print(f"Verifying {size:#x} ({size}) bytes at {address:#010x} in flash against '{data}'...")
        log.print("Verification successful (digest matched).")


def reset_chip(esp, reset_mode: str = "hard-reset") -> None:
    record("reset_chip", reset_mode=reset_mode)
    log.print("Hard resetting via RTS pin...")
