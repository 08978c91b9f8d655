"""Which TensorFlow Lite Micro library a board's Arduino or PlatformIO project builds against.

TFLM has no official Arduino library in the Library Manager any more: Arduino_TensorFlowLite was
taken out of it in 2022 at the TFLM team's request (arduino/library-registry#1748,
tensorflow/tflite-micro-arduino-examples#123). What each family uses instead, and where that
comes from, is recorded here, the one place to change when the libraries move on.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.core.boards import Board

CHIRALE = "Chirale_TensorFLowLite"  # sic: the registered name spells "FLow" with a capital L
CHIRALE_HEADER = "Chirale_TensorFlowLite.h"
CHIRALE_PLATFORMIO = "spaziochirale/Chirale_TensorFLowLite@^2.0.0"
CHIRALE_SOURCE = (
    "github.com/spaziochirale/Chirale_TensorFlowLite: library.properties (name=Chirale_TensorFLowLite, "
    "architectures=mbed_nano,esp32,mbed_nicla,mbed_portenta) and examples/hello_world, which includes "
    "<Chirale_TensorFlowLite.h> first; release 2.0.0 is what PlatformIO projects pin "
    "(spaziochirale/Chirale_TensorFLowLite@2.0.0)"
)
OFFICIAL = "Arduino_TensorFlowLite"
OFFICIAL_HEADER = "TensorFlowLite.h"
OFFICIAL_URL = "https://github.com/tensorflow/tflite-micro-arduino-examples"


@dataclass(frozen=True)
class TflmLibrary:
    """The TFLM library of one board family.

    `name` is the library's name in its library.properties; `in_library_manager` whether the
    Arduino Library Manager carries it (only then does library.properties' `depends=` name it).
    `header` is the header a sketch includes before any TFLM one ("" when none is needed).
    `platformio` is the `lib_deps` entry of a PlatformIO project; `source` where these facts
    come from.
    """

    family: str
    name: str
    header: str
    in_library_manager: bool
    install: str
    platformio: str
    source: str


MBED = TflmLibrary(
    family="Arduino Mbed OS boards (Nano 33 BLE, Nano RP2040 Connect, Nicla, Portenta, Giga)",
    name=CHIRALE,
    header=CHIRALE_HEADER,
    in_library_manager=True,
    install=f"Install {CHIRALE} from the Library Manager (Sketch > Include Library > Manage Libraries).",
    platformio=CHIRALE_PLATFORMIO,
    source=CHIRALE_SOURCE,
)

ESP32 = TflmLibrary(
    family="ESP32 boards (the arduino-esp32 core)",
    name=CHIRALE,
    header=CHIRALE_HEADER,
    in_library_manager=True,
    install=f"Install {CHIRALE} from the Library Manager (Sketch > Include Library > Manage Libraries).",
    platformio=CHIRALE_PLATFORMIO,
    source=(
        CHIRALE_SOURCE + "; ESP32 support merged in spaziochirale/Chirale_TensorFlowLite#1 (2024). "
        "TensorFlowLite_ESP32 (tanakamasayuki) is no longer maintained: its 1.0.0 fails to build on "
        "current cores (tanakamasayuki/Arduino_TensorFlowLite_ESP32#23) and its maintainer points to the "
        "esp-tflite-micro that arduino-esp32 3.x bundles (issues #8 and #19, 2026)"
    ),
)

GITHUB_ONLY = TflmLibrary(
    family="other Arduino cores (Raspberry Pi Pico core, Seeed SAMD and nRF52 cores, ...)",
    name=OFFICIAL,
    header=OFFICIAL_HEADER,
    in_library_manager=False,
    install=(
        f"No library in the Library Manager targets this core: download TFLM's own Arduino library from "
        f"{OFFICIAL_URL} (Code > Download ZIP) and add it with Sketch > Include Library > Add .ZIP Library."
    ),
    platformio=OFFICIAL_URL,  # PlatformIO's lib_deps takes a Git repository as it is
    source=(
        "tensorflow/tflite-micro-arduino-examples library.properties (name=Arduino_TensorFlowLite, "
        "includes=TensorFlowLite.h); out of the Library Manager since arduino/library-registry#1748; "
        "Chirale_TensorFLowLite does not list these architectures, so PlatformIO takes the official "
        "library from its repository (not built here on these cores: no PlatformIO on this machine)"
    ),
)

# Arduino architectures (the second part of an FQBN) of the families above.
_MBED_ARCHITECTURES = frozenset({"mbed", "mbed_nano", "mbed_nicla", "mbed_portenta", "mbed_giga", "mbed_edge"})


def arduino_architecture(board: Board | None) -> str:
    """The Arduino architecture of a board ('mbed_nano' from 'arduino:mbed_nano:nano33ble'); '' without an FQBN."""
    if board is None or board.fqbn.count(":") < 2:
        return ""
    return board.fqbn.split(":")[1]


def library_for(board: Board | None) -> TflmLibrary:
    """The TFLM library a project for `board` builds against; without a board, the one that covers
    most boards TFLM runs well on (the Mbed and ESP32 families)."""
    if board is None:
        return MBED
    vendor = board.fqbn.split(":")[0] if board.fqbn else ""
    architecture = arduino_architecture(board)
    if vendor == "arduino" and architecture in _MBED_ARCHITECTURES:
        return MBED
    if architecture == "esp32" or (not board.fqbn and board.mcu.upper().startswith("ESP32")):
        return ESP32
    return GITHUB_ONLY
