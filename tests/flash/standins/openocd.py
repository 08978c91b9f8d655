"""Stand-in for OpenOCD 0.12 running `program {FILE} [ADDRESS] [verify] [reset] exit`: its banner and
`program` milestones on stderr, and its errors.

STANDIN_FAIL: "open-failed" (no ST-LINK found), "access" (the probe cannot be opened).
A -f file it does not know fails as OpenOCD does for a missing configuration file.
"""

from __future__ import annotations

import os
import re
import sys

from standin_common import err, failure, hang_if_asked, option, record

KNOWN = {
    "interface/stlink.cfg",
    "interface/cmsis-dap.cfg",
    "interface/jlink.cfg",
    "target/stm32h7x.cfg",
    "target/stm32f7x.cfg",
    "target/stm32l4x.cfg",
    "target/nrf52.cfg",
    "target/rp2040.cfg",
    "board/st_nucleo_h743zi.cfg",
}


def shutdown_after(*lines: str) -> int:
    for line in lines:
        err(line)
    err("in procedure 'program'")
    err("** OpenOCD init failed **")
    err("shutdown command invoked")
    return 1


def main() -> int:
    args = record()
    err("Open On-Chip Debugger 0.12.0")
    err("Licensed under GNU GPL v2")
    err("For bug reports, read")
    err("\thttp://openocd.org/doc/doxygen/bugs.html")
    for index, arg in enumerate(args):
        if arg == "-f" and args[index + 1] not in KNOWN:
            err(f"embedded:startup.tcl:28: Error: Can't find {args[index + 1]}")
            err("in procedure 'script'")
            err('at file "embedded:startup.tcl", line 28')
            return 1
    script = option(args, "-c", "--command")
    match = re.match(r"program \{(?P<file>[^}]+)\}(?P<rest>.*)$", script)
    if match is None:
        err(f'invalid command name "{script.split()[0] if script else ""}"')
        return 1
    actions = match["rest"].split()
    err("Info : clock speed 1800 kHz")
    if failure() == "open-failed":
        return shutdown_after("Error: open failed")
    if failure() == "access":
        return shutdown_after("Error: libusb_open() failed with LIBUSB_ERROR_ACCESS", "Error: open failed")
    size = os.path.getsize(match["file"])
    err("Info : STLINK V3J7M2 (API v3) VID:PID 0483:374E")
    err("Info : Target voltage: 3.280595")
    err("Info : [stm32h7x.cpu0] Cortex-M7 r1p1 processor detected")
    err("Info : [stm32h7x.cpu0] target has 8 breakpoints, 4 watchpoints")
    err("Info : starting gdb server for stm32h7x.cpu0 on 3333")
    err("Info : Listening on port 3333 for gdb connections")
    err("[stm32h7x.cpu0] halted due to debug-request, current mode: Thread")
    err("xPSR: 0x01000000 pc: 0x08000298 msp: 0x24080000")
    err("** Programming Started **")
    hang_if_asked()
    err("Info : Device: STM32H74x/75x")
    err("Info : flash size probed value 2048k")
    err(f"Info : wrote {size} bytes from file {match['file']} in 1.203366s (26.593 KiB/s)")
    err("** Programming Finished **")
    if "verify" in actions:
        err("** Verify Started **")
        err(f"Info : verified {size} bytes in 0.124356s (88.204 KiB/s)")
        err("** Verified OK **")
    if "reset" in actions:
        err("** Resetting Target **")
    err("shutdown command invoked")
    return 0


sys.exit(main())
