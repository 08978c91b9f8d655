"""Stand-in for dfu-util 0.11: its banner, DfuSe erase and download bars, its errors (errx: exit 74).

STANDIN_FAIL: "no-device" (no board in DFU mode), "access" (the device cannot be opened),
"get-status" (dfu-util 0.9's complaint after the board left DFU mode, once the file is written).
"""

from __future__ import annotations

import os
import sys

from standin_common import err, failure, hang_if_asked, option, out, record

EX_IOERR = 74
WIDTH = 25  # PROGRESS_BAR_WIDTH in dfu_file.c

BANNER = """dfu-util 0.11

Copyright 2005-2009 Weston Schmidt, Harald Welte and OpenMoko Inc.
Copyright 2010-2021 Tormod Volden and Stefan Schmidt
This program is Free Software and has ABSOLUTELY NO WARRANTY
Please report bugs to http://sourceforge.net/p/dfu-util/tickets/
"""


def progress_bar(desc: str, current: int, maximum: int, last: list[int]) -> None:
    """dfu_progress_bar(): redraws with a carriage return when the bar grows; 'done' when full."""
    ticks = min(WIDTH, WIDTH * current // maximum)
    if ticks == last[0]:
        return
    last[0] = ticks
    bar = "=" * ticks + " " * (WIDTH - ticks)
    sys.stdout.write(f"\r{desc}\t[{bar}] {100 * current // maximum:3d}% {current:12d} bytes")
    if ticks == WIDTH:
        sys.stdout.write(f"\n{desc} done.\n")
    sys.stdout.flush()


def main() -> int:
    args = record()
    out(BANNER)
    if failure() == "access":
        err("dfu-util: Cannot open DFU device 2341:035b found on devnum 7 (LIBUSB_ERROR_ACCESS)")
        err("dfu-util: No DFU capable USB device available")
        return EX_IOERR
    if failure() == "no-device":
        err("dfu-util: No DFU capable USB device available")
        return EX_IOERR
    firmware = option(args, "-D", "--download")
    size = os.path.getsize(firmware)
    if not firmware.endswith(".dfu"):
        err("dfu-util: Warning: Invalid DFU suffix signature")
        err("dfu-util: A valid DFU suffix will be required in a future dfu-util release")
    device = option(args, "-d", "--device") or "0483:df11"
    address, _, modifier = option(args, "-s", "--dfuse-address").partition(":")
    out("Opening DFU capable USB device...")
    out(f"Device ID {device}")
    out("Device DFU version 011a")
    out("Claiming USB DFU Interface...")
    out(f"Setting Alternate Interface #{option(args, '-a', '--alt')} ...")
    out("Determining device status...")
    out("DFU state(2) = dfuIDLE, status(0) = No error condition is present")
    out("DFU mode device DFU version 011a")
    out("Device returned transfer size 4096")
    out('DfuSe interface name: "Internal Flash   "')
    out(f"Downloading element to address = {address}, size = {size}")
    last = [-1]
    page = 8192
    for done in range(0, size + page, page):
        progress_bar("Erase   ", min(done, size), size, last)
        hang_if_asked()
    last = [-1]
    for done in range(0, size + 4096, 4096):
        progress_bar("Download", min(done, size), size, last)
    out("File downloaded successfully")
    if failure() == "get-status":
        err("dfu-util: Error during download get_status")
        return EX_IOERR
    if modifier == "leave":
        out("Submitting leave request...")
        out("Transitioning to dfuMANIFEST state")
    return 0


sys.exit(main())
