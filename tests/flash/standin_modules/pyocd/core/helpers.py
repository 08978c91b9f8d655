"""pyocd.core.helpers stand-in: ConnectHelper over pretend probes (settings "probes": a list of
{"unique_id", "description"}). With "fail" = "permission" no probe is listed and pyOCD's
warning about the probe's USB permissions is logged, as pyOCD does on Linux without udev rules."""

from __future__ import annotations

import logging

from .._standin import SETTINGS, failure, record
from .session import Session

USB_LOG = logging.getLogger("pyocd.probe.stlink.usb")


class DebugProbe:
    def __init__(self, unique_id: str, description: str) -> None:
        self.unique_id = unique_id
        self.description = description
        self.vendor_name = "STMicroelectronics"
        self.product_name = description


class ConnectHelper:
    @staticmethod
    def get_all_connected_probes(blocking=True, unique_id=None, print_wait_message=True):
        record("get_all_connected_probes", blocking=blocking, unique_id=unique_id)
        if failure() == "permission":
            USB_LOG.warning(
                "[Errno 13] Access denied (insufficient permissions) while trying to get the STLink USB device "
                "configuration (VID=0483 PID=374b). This can probably be remedied with a udev rule. "
                "See <https://github.com/pyocd/pyOCD/tree/master/udev> for help."
            )
            return []
        probes = [DebugProbe(p["unique_id"], p.get("description", "STM32 STLink")) for p in SETTINGS.get("probes", [])]
        if unique_id is not None:
            exact = [p for p in probes if p.unique_id == unique_id]
            probes = exact or [p for p in probes if unique_id.lower() in p.unique_id.lower()]
        if blocking and not probes:
            input("> ")  # pyOCD would wait for a probe: a child with no stdin must never get here
        return sorted(probes, key=lambda p: p.description + p.unique_id)

    @staticmethod
    def session_with_chosen_probe(
        blocking=True, return_first=False, unique_id=None, auto_open=True, options=None, **kwargs
    ):
        record("session_with_chosen_probe", blocking=blocking, return_first=return_first, unique_id=unique_id)
        probes = ConnectHelper.get_all_connected_probes(blocking=blocking, unique_id=unique_id)
        if len(probes) > 1 and not return_first:
            if unique_id is not None:
                return None
            input("Enter the number of the debug probe or 'q' to quit> ")  # pyOCD's prompt
        if not probes:
            return None
        return Session(probes[0], auto_open=auto_open, options=options, **kwargs)
