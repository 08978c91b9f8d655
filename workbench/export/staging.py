"""Write a whole export or nothing: files go to a staging folder beside the target, and move into
place only once every one of them was written.

A folder exported into again loses the files the previous export wrote and this one does not
(model_data.cc after a C export, another model's model_ops.h), listed in the folder's manifest;
files of the person's own are left alone."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from workbench.core.errors import WorkbenchError

MANIFEST = ".tinyml-workbench-export.json"  # what the last export wrote into a folder


class WouldReplace(WorkbenchError):
    """The export would replace files it did not write before (a person's own): asked, not done."""

    def __init__(self, target: Path, files: list[str]) -> None:
        shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        super().__init__(
            f"{target}: already holds {shown}, which this export would replace",
            "Choose another folder, or replace them (--force on the command line; the Deploy page asks).",
        )
        self.files = files


def cannot_write(path: Path, error: OSError) -> WorkbenchError:
    """The one sentence for a folder the export cannot write to."""
    reason = error.strerror or str(error)
    return WorkbenchError(f"{path}: cannot write there ({reason})", "Choose a folder you can write to.")


def _make_parent(folder: Path) -> list[Path]:
    """Create the missing folders above `folder`; return those created, deepest first."""
    created: list[Path] = []
    for parent in reversed(folder.parents):
        if not parent.exists():
            parent.mkdir()
            created.insert(0, parent)
    return created


@contextlib.contextmanager
def staged_folder(target: Path, replace: bool = False) -> Iterator[Path]:
    """Yield an empty staging folder; on success its files move into `target` (created or
    merged into), on any failure nothing of it remains. Files of the same name that an earlier
    export wrote are replaced; others only with `replace`, else WouldReplace is raised."""
    target = target.expanduser().absolute()
    if target.exists() and not target.is_dir():
        raise WorkbenchError(f"{target}: is a file, not a folder", "Choose a folder for the export.")
    try:
        created = _make_parent(target)
        stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    except OSError as error:
        raise cannot_write(target, error) from None
    try:
        yield stage
        _move_into_place(stage, target, replace)
    except OSError as error:
        _clean(stage, created)
        raise cannot_write(target, error) from None
    except BaseException:
        _clean(stage, created)
        raise
    shutil.rmtree(stage, ignore_errors=True)


def _move_into_place(stage: Path, target: Path, replace: bool) -> None:
    written = sorted(str(p.relative_to(stage)) for p in stage.rglob("*") if p.is_file())
    _write_manifest(stage, written)
    if not target.exists():
        stage.chmod(0o755)  # mkdtemp made it private; a new export folder is like any other
        stage.rename(target)
        stage.mkdir()  # so that the caller's clean-up has something to remove
        return
    if not os.access(target, os.W_OK):
        raise PermissionError(13, "Permission denied", str(target))
    previous = set(_read_manifest(target))
    theirs = [name for name in written if name not in previous and (target / name).exists()]
    if theirs and not replace:
        raise WouldReplace(target, theirs)
    stale = previous - set(written)
    for name in [*written, MANIFEST]:
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(stage / name, destination)
    for name in sorted(stale, reverse=True):
        old = (target / name).resolve()
        if old.is_relative_to(target.resolve()):
            with contextlib.suppress(OSError):
                old.unlink()
                for folder in old.parents:  # folders the old export made, now empty
                    if folder == target.resolve():
                        break
                    folder.rmdir()


def _write_manifest(folder: Path, files: list[str]) -> None:
    (folder / MANIFEST).write_text(json.dumps({"files": files}, indent=1) + "\n")


def _read_manifest(folder: Path) -> list[str]:
    try:
        files = json.loads((folder / MANIFEST).read_text()).get("files", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [name for name in files if isinstance(name, str)]


def _clean(stage: Path, created: list[Path]) -> None:
    shutil.rmtree(stage, ignore_errors=True)
    for folder in created:
        with contextlib.suppress(OSError):
            folder.rmdir()
