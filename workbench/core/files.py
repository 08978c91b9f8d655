"""Files written whole or not at all: what a person saves or the app hands a tool never exists
half-written (a full disk, a removed drive, a crash mid-write leaves the old file or nothing)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from workbench.core.errors import WorkbenchError


def write_whole(path: Path, data: bytes) -> Path:
    """Write `data` to `path` through a sibling `.NAME.partial` moved into place, making the folder
    first; returns `path`. Raises WorkbenchError (one sentence) when it cannot be written."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(data)
        partial.replace(path)
    except OSError as error:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise WorkbenchError(f"{path}: cannot be written ({error.strerror or error})") from None
    return path
