"""pyocd.flash.file_programmer stand-in: FileProgrammer writes a .bin into the pretend flash,
reporting an erase pass and then a program pass through the progress callback, each 0 to 1, as
pyOCD's FlashLoader does. Settings: "steps" per pass (default 4), "delay_s" before each step,
"fail" = "flash-fail" (the program pass fails as a flash algorithm does)."""

from __future__ import annotations

import time

from .._standin import MEMORY, SETTINGS, failure, record
from ..core import exceptions


class FileProgrammer:
    def __init__(
        self,
        session,
        progress=None,
        chip_erase=None,
        smart_flash=None,
        trust_crc=None,
        keep_unwritten=None,
        no_reset=None,
    ):
        self._session = session
        self._progress = progress or (lambda fraction: None)
        record(
            "FileProgrammer",
            chip_erase=chip_erase,
            smart_flash=smart_flash,
            keep_unwritten=keep_unwritten,
            progress=progress is not None,
        )

    def program(self, file_or_path, file_format=None, **kwargs):
        record("program", path=str(file_or_path), file_format=file_format, kwargs=kwargs)
        if file_format != "bin":
            raise ValueError(f"unknown file format '{file_format}'")
        address = kwargs.get("base_address")
        if address is None:
            address = self._session.target.memory_map.get_boot_memory().start
        with open(file_or_path, "rb") as handle:
            data = handle.read()
        if self._session.target.memory_map.get_region_for_address(address) is None:
            raise ValueError(f"no memory region defined for address 0x{address:08x}")
        steps = int(SETTINGS.get("steps", 4))
        delay = float(SETTINGS.get("delay_s", 0.0))
        for erase_or_program in ("erase", "program"):
            for step in range(steps + 1):
                time.sleep(delay)
                if erase_or_program == "program" and failure() == "flash-fail" and step == steps // 2:
                    raise exceptions.FlashProgramFailure("flash program page failure", address=address, result_code=1)
                self._progress(step / steps)
        for offset, byte in enumerate(data):
            MEMORY[address + offset] = byte
        record("program finished", address=address, size=len(data))
