"""A cache of Keras/SavedModel conversions, keyed by the file's content.

Converting a Keras model starts TensorFlow (seconds). A model opened before, unchanged,
opens from here without TensorFlow. The key covers the file's bytes (every file of a
SavedModel folder), the converter's version and this app's version, so a changed file or
an upgraded TensorFlow converts again. Entries are written atomically; the oldest are
dropped past `MAX_ENTRIES`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from workbench import __version__
from workbench.core.files import content_digest
from workbench.paths import user_home

log = logging.getLogger(__name__)

MAX_ENTRIES = 40


def cache_dir() -> Path:
    """`$TINYML_WORKBENCH_CACHE` when set, else the cache folder in the user's app folder."""
    override = os.environ.get("TINYML_WORKBENCH_CACHE")
    return Path(override) if override else user_home() / "cache" / "conversions"


def _versions() -> str:
    found = []
    for package in ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tensorflow-intel", "tf-keras", "keras"):
        try:
            found.append(f"{package}={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            found.append(f"{package}=none")
    return ";".join(found)


# The code that converts: a change to any of these converts again, even within one release.
_CONVERTER_MODULES = ("keras_convert.py", "keras_loading.py", "keras_config.py", "converter_messages.py")


def _converter_source() -> bytes:
    here = Path(__file__).resolve().parent
    return b"".join((here / name).read_bytes() for name in _CONVERTER_MODULES if (here / name).exists())


def content_key(path: Path, fmt: str) -> str:
    """A hex digest of the model's content, the format, the converter's version and our converting code."""
    digest = hashlib.sha256(f"{__version__};{fmt};{_versions()}".encode())
    digest.update(_converter_source())
    return content_digest(path, digest).hexdigest()


def lookup(key: str) -> tuple[bytes, dict[str, Any]] | None:
    """The cached TFLite bytes and facts for `key`, or None."""
    folder = cache_dir()
    model, facts = folder / f"{key}.tflite", folder / f"{key}.json"
    try:
        data = model.read_bytes()
        info: dict[str, Any] = json.loads(facts.read_text())
    except (OSError, ValueError):
        return None
    if info.get("size_bytes") != len(data):
        return None
    with contextlib.suppress(OSError):
        os.utime(facts)  # most recently used
    return data, info


def store(key: str, tflite: bytes, facts: dict[str, Any]) -> None:
    """Remember a conversion; a failure to write is logged and otherwise ignored."""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in (
            (f"{key}.tflite", tflite),
            (f"{key}.json", json.dumps({**facts, "size_bytes": len(tflite)}).encode()),
        ):
            # A temporary file of its own: two writers (two windows, the app and the CLI) never mix.
            handle, partial = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".partial")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(content)
                os.replace(partial, folder / name)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(partial)
                raise
        _trim(folder)
    except OSError as error:
        log.warning("could not cache the conversion: %s", error)


def _trim(folder: Path) -> None:
    entries = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[MAX_ENTRIES:]:
        for path in (old, old.with_suffix(".tflite")):
            with contextlib.suppress(OSError):
                path.unlink()
