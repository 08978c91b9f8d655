"""Stand-in for PlatformIO Core 6 `pio run -d PROJECT -e ENV -t upload [--upload-port PORT]`:
its build lines, its memory-use bars (which are not progress), then esptool 4's upload output.

Also runs as `python -m platformio` (the tests install it as platformio/__main__.py).
STANDIN_FAIL: "no-port" (no port given and none found), "compile-error".
"""

from __future__ import annotations

import configparser
import os
import sys

from standin_common import err, failure, hang_if_asked, option, out, record

RULE = "=" * 25


def main() -> int:
    args = record()
    if args[:1] != ["run"]:
        err("Error: this stand-in only runs `pio run`")
        return 2
    project = option(args, "-d", "--project-dir") or os.getcwd()
    env = option(args, "-e", "--environment")
    port = option(args, "--upload-port")
    config = configparser.ConfigParser(interpolation=None)
    if not config.read(os.path.join(project, "platformio.ini")):
        err(
            "Error: Not a PlatformIO project. `platformio.ini` file has not been found in current working "
            f"directory ({project}). To initialize new project please use `platformio project init` command"
        )
        return 1
    envs = [section[4:] for section in config.sections() if section.startswith("env:")]
    if env not in envs:
        err(f"Error: Unknown environment names '{env}'. Valid names are '{', '.join(envs)}'")
        return 1
    board = config.get(f"env:{env}", "board")
    out(f"Processing {env} (platform: espressif32; board: {board}; framework: arduino)")
    out("-" * 80)
    out("Verbose mode can be enabled via `-v, --verbose` option")
    out(f"CONFIGURATION: https://docs.platformio.org/page/boards/espressif32/{board}.html")
    out("PLATFORM: Espressif 32 (6.5.0) > Espressif ESP32 Dev Module")
    out("LDF: Library Dependency Finder -> https://bit.ly/configure-pio-ldf")
    out("Building in release mode")
    out(f"Compiling .pio/build/{env}/src/main.cpp.o")
    if failure() == "compile-error":
        err("src/main.cpp: In function 'void setup()':")
        err("src/main.cpp:5:3: error: 'foo' was not declared in this scope")
        err("     foo();")
        err("     ^~~")
        out(f"*** [.pio/build/{env}/src/main.cpp.o] Error 1")
        out(f"{RULE} [FAILED] Took 2.34 seconds {RULE}")
        return 1
    out(f"Compiling .pio/build/{env}/src/model_data.cc.o")
    out(f"Archiving .pio/build/{env}/libFrameworkArduino.a")
    out(f"Linking .pio/build/{env}/firmware.elf")
    out(f"Retrieving maximum program size .pio/build/{env}/firmware.elf")
    out(f"Checking size .pio/build/{env}/firmware.elf")
    out('Advanced Memory Usage is available via "PlatformIO Home > Project Inspect"')
    out("RAM:   [=         ]   6.5% (used 21296 bytes from 327680 bytes)")
    out("Flash: [==        ]  21.0% (used 275413 bytes from 1310720 bytes)")
    out(f"Building .pio/build/{env}/firmware.bin")
    out("esptool.py v4.5.1")
    out("Creating esp32 image...")
    out("Successfully created esp32 image.")
    out("Configuring upload protocol...")
    out("AVAILABLE: cmsis-dap, esp-bridge, esp-prog, espota, esptool, iot-bus-jtag, jlink, minimodule")
    out("CURRENT: upload_protocol = esptool")
    out("Looking for upload port...")
    if not port:
        if failure() == "no-port":
            err("Error: Please specify `upload_port` for environment or use global `--upload-port` option.")
            out("*** [upload] Explicit exit, status 1")
            out(f"{RULE} [FAILED] Took 4.56 seconds {RULE}")
            return 1
        port = "/dev/ttyUSB0"
        out(f"Auto-detected: {port}")
    out(f"Uploading .pio/build/{env}/firmware.bin")
    out("esptool.py v4.5.1")
    out(f"Serial port {port}")
    out("Connecting....")
    out("Chip is ESP32-D0WD-V3 (revision v3.0)")
    out("Uploading stub...")
    out("Running stub...")
    out("Stub running...")
    out("Changing baud rate to 460800")
    out("Changed.")
    out("Configuring flash size...")
    out("Flash will be erased from 0x00010000 to 0x00053fff...")
    out("Compressed 275552 bytes to 151470...")
    blocks = 10
    for block in range(blocks):
        out(f"Writing at 0x{0x10000 + block * 0x4000:08x}... ({(block + 1) * 100 // blocks} %)")
        hang_if_asked()
    out("Wrote 275552 bytes (151470 compressed) at 0x00010000 in 3.4 seconds (effective 648.4 kbit/s)...")
    out("Hash of data verified.")
    out()
    out("Leaving...")
    out("Hard resetting via RTS pin...")
    out(f"{RULE} [SUCCESS] Took 12.34 seconds {RULE}")
    return 0


sys.exit(main())
