"""Settings from PYOCD_STANDIN, the record of calls (a JSON list, rewritten after each call) and the
pretend target's memory."""

from __future__ import annotations

import json
import os
from typing import Any

SETTINGS: dict[str, Any] = json.loads(os.environ.get("PYOCD_STANDIN", "{}"))
CALLS: list[dict[str, Any]] = []
MEMORY: dict[int, int] = {}  # address -> byte written; erased flash reads 0xFF


def record(call: str, **arguments: Any) -> None:
    """Add one call to the record file named by the settings."""
    CALLS.append({"call": call, **arguments})
    path = SETTINGS.get("calls")
    if path:
        with open(path + ".partial", "w") as handle:
            json.dump(CALLS, handle)
        os.replace(path + ".partial", path)


def failure() -> str:
    """The failure to simulate ("" for none)."""
    return str(SETTINGS.get("fail", ""))
