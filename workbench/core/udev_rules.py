"""udev rules that let a Linux user in the `plugdev` group (or at the seat) flash and monitor the
known boards without root, made from the boards' files: one rule for each USB id (`usb_ids`),
naming the boards it serves. Installed as /etc/udev/rules.d/60-tinyml-workbench.rules (the .deb
does it; `tinyml-workbench udev-rules -o FILE` writes it for a source install).

A rule matches the USB device and every interface and tty under it (`SUBSYSTEMS=="usb"`), so raw
USB tools (pyOCD, dfu-util, picotool, OpenOCD) and the serial port are both reachable, and tells
ModemManager to leave the port alone (it probes new serial ports, which upsets a board
printing or being flashed).
"""

from __future__ import annotations

from collections.abc import Iterable

from workbench.core.boards import Board

RULES_FILE = "60-tinyml-workbench.rules"
GROUP = "plugdev"


def udev_rules(boards: Iterable[Board]) -> str:
    """The rules file for `boards`: a rule a USB id, in id order, each after a comment naming its
    boards; the same text for the same boards whatever their order."""
    served: dict[str, list[str]] = {}
    for board in sorted(boards, key=lambda b: b.id):
        for usb_id in board.usb_ids:
            names = served.setdefault(usb_id.lower(), [])
            if board.name not in names:
                names.append(board.name)
    lines = [
        "# udev rules for TinyML Workbench: flash and monitor these boards without root.",
        f"# Written from the boards' files; install as /etc/udev/rules.d/{RULES_FILE}, then",
        "# run `sudo udevadm control --reload-rules && sudo udevadm trigger` and replug the board.",
        f"# Access goes to the {GROUP} group and to whoever is at the seat.",
        "",
    ]
    for usb_id, names in sorted(served.items()):
        vendor, product = usb_id.split(":")
        lines.append(f"# {', '.join(names)}")
        lines.append(
            f'SUBSYSTEMS=="usb", ATTRS{{idVendor}}=="{vendor}", ATTRS{{idProduct}}=="{product}", '
            f'MODE="0660", GROUP="{GROUP}", TAG+="uaccess", ENV{{ID_MM_DEVICE_IGNORE}}="1"'
        )
    return "\n".join(lines) + "\n"
