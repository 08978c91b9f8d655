"""pyocd.core.session stand-in: a Session whose target is the pretend chip.

Settings: "fail" = "target-unknown" (the Session refuses the target name, as pyOCD does when no
pack provides it), "no-ack" (opening finds no chip behind the probe), "corrupt" (reading back
returns one byte changed); "boot_start" and "flash_bytes" place the pretend flash.
"""

from __future__ import annotations

from .._standin import MEMORY, SETTINGS, failure, record
from . import exceptions


class MemoryRegion:
    def __init__(self, start: int, length: int) -> None:
        self.start = start
        self.length = length
        self.end = start + length - 1
        self.is_flash = True


class MemoryMap:
    def __init__(self) -> None:
        self._flash = MemoryRegion(
            int(SETTINGS.get("boot_start", 0x08000000)), int(SETTINGS.get("flash_bytes", 0x100000))
        )

    def get_boot_memory(self):
        return self._flash

    def get_region_for_address(self, address: int, pname=None):
        return self._flash if self._flash.start <= address <= self._flash.end else None


class SoCTarget:
    def __init__(self, name: str) -> None:
        self.name = name
        self.memory_map = MemoryMap()

    def read_memory_block8(self, addr: int, size: int):
        record("read_memory_block8", addr=addr, size=size)
        data = [MEMORY.get(addr + i, 0xFF) for i in range(size)]
        if failure() == "corrupt" and data:
            data[len(data) // 2] ^= 0x01
        return data

    def reset(self, reset_type=None) -> None:
        record("reset", reset_type=reset_type)

    def reset_and_halt(self, reset_type=None) -> None:
        record("reset_and_halt", reset_type=reset_type)


class Session:
    def __init__(
        self, probe, auto_open: bool = True, options=None, option_defaults=None, command=None, **kwargs
    ) -> None:
        self.probe = probe
        self.options = {**(options or {}), **kwargs}
        target = self.options.get("target_override")
        record("Session", probe=probe.unique_id, options=self.options)
        if failure() == "target-unknown" or not target:
            raise exceptions.TargetSupportError(
                f"Target type {target} not recognized. Use 'pyocd list --targets' to see currently available target "
                "types. See <https://pyocd.io/docs/target_support.html> for how to install additional target support."
            )
        self.target = SoCTarget(target)

    def __enter__(self) -> Session:
        record("open")
        if failure() == "no-ack":
            raise exceptions.TransferError("No ACK received")
        return self

    def __exit__(self, exc_type, value, traceback) -> bool:
        record("close")
        return False
