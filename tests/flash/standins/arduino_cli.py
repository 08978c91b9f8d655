"""Stand-in for arduino-cli 1.x: `compile` prints the sketch's size, `upload` prints what the core's
upload tool (BOSSA here, as for Arduino's nRF52 and SAMD boards) prints, bars and all.

STANDIN_FAIL: "platform-missing" and "compile-error" (compile); "permission" (upload: the words
avrdude prints for a port it may not open). An upload without -p fails as arduino-cli does when
the board's upload tool needs a serial port.
"""

from __future__ import annotations

import os
import sys

from standin_common import err, failure, hang_if_asked, option, out, record

PAGE = 4096


def bossa_bars(pages: int, hang: bool) -> None:
    """BossaObserver::onProgress: '\\r[====    ] 45% (10/22 pages)' for every page."""
    for page in range(pages + 1):
        ticks = page * 30 // pages
        sys.stdout.write(f"\r[{'=' * ticks}{' ' * (30 - ticks)}] {page * 100 // pages}% ({page}/{pages} pages)")
        sys.stdout.flush()
        if hang:
            hang_if_asked()
    sys.stdout.write("\n")


def compile_sketch(args: list[str]) -> int:
    fqbn = option(args, "--fqbn", "-b")
    platform = ":".join(fqbn.split(":")[:2])
    sketch = args[-1].rstrip("/")
    name = os.path.basename(sketch)
    if failure() == "platform-missing":
        err(f"Error during build: Platform '{platform}' not found: platform not installed")
        err(f"Try running `arduino-cli core install {platform}`")
        return 1
    if not os.path.isfile(os.path.join(sketch, name + ".ino")):
        err(f"Can't open sketch: main file missing from sketch: {os.path.join(sketch, name + '.ino')}")
        return 1
    for library in [args[i + 1] for i, arg in enumerate(args) if arg == "--library"]:
        if not os.path.isfile(os.path.join(library, "library.properties")):
            err(f"Error during build: invalid library: {library}")
            return 1
    if failure() == "compile-error":
        err(f"{sketch}/{name}.ino: In function 'void setup()':")
        err(f"{sketch}/{name}.ino:5:3: error: 'foo' was not declared in this scope")
        err("    5 |   foo();")
        err("      |   ^~~")
        err(f"{sketch}/{name}.ino:9:1: error: expected ';' before '}}' token")
        err()
        err("Error during build: exit status 1")
        return 1
    out("Sketch uses 87960 bytes (8%) of program storage space. Maximum is 983040 bytes.")
    out(
        "Global variables use 44824 bytes (17%) of dynamic memory, leaving 217320 bytes for local variables. "
        "Maximum is 262144 bytes."
    )
    out()
    out("Used platform     Version Path")
    out(f"{platform:17} 4.2.1   /home/user/.arduino15/packages/{platform.split(':')[0]}/hardware/x/4.2.1")
    return 0


def upload(args: list[str]) -> int:
    port = option(args, "-p", "--port")
    if not port:
        err("Error during Upload: Failed uploading: no upload port provided")
        return 1
    if failure() == "permission":
        err(f'avrdude: ser_open(): can\'t open device "{port}": Permission denied')
        err()
        err("avrdude done.  Thank you.")
        err()
        err("Failed uploading: uploading error: exit status 1")
        return 1
    size = 87968
    pages = (size + PAGE - 1) // PAGE
    out("Device       : nRF52840-QIAA")
    out("Version      : Arduino Bootloader (SAM-BA extended) 2.0 [Arduino:IKXYZ]")
    out(f"Pages        : {pages}")
    out(f"Page Size    : {PAGE} bytes")
    out("Erase flash")
    out()
    out("Done in 0.001 seconds")
    out(f"Write {size} bytes to flash ({pages} pages)")
    bossa_bars(pages, hang=True)
    out("Done in 5.412 seconds")
    if "--verify" in args or "-t" in args:
        out(f"Verify {size} bytes of flash")
        bossa_bars(pages, hang=False)
        out("Verify successful")
        out("Done in 0.843 seconds")
    out("New upload port: " + port + " (serial)")
    return 0


def main() -> int:
    args = record()
    if args and args[0] == "compile":
        return compile_sketch(args)
    if args and args[0] == "upload":
        return upload(args)
    err(f"Error: unknown command {args[:1]}")
    return 1


sys.exit(main())
