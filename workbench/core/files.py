"""Files written whole or not at all: what a person saves or the app hands a tool never exists
half-written (a full disk, a removed drive, a crash mid-write leaves the old file or nothing)."""

from __future__ import annotations

import contextlib
import hashlib
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


_CHUNK_BYTES = 1 << 20


def content_digest(path: Path, digest: hashlib._Hash | None = None) -> hashlib._Hash:
    """`digest` (a new sha256 when None) updated with the content of the file `path`, or of every
    file of the folder `path` with its relative name (a SavedModel). Raises WorkbenchError (one
    sentence) when a file cannot be read."""
    digest = digest if digest is not None else hashlib.sha256()
    try:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if path.is_dir():
                digest.update(str(file.relative_to(path)).encode() + b"\0")
            with file.open("rb") as handle:
                while chunk := handle.read(_CHUNK_BYTES):
                    digest.update(chunk)
    except OSError as error:
        where = Path(error.filename).name if error.filename else path.name
        raise WorkbenchError(f"{path.name}: cannot be read ({where}: {error.strerror or error})") from None
    return digest


def file_sha256(path: Path) -> str:
    """The hex sha256 of a model file's bytes (of every file with its name, for a folder)."""
    return content_digest(path).hexdigest()
