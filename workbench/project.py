"""Project files (`.tmlw`): the whole workbench in one versioned JSON file.

A project keeps the session's serialisation (`Session.to_json()`: the model's path and content
hashes, the board, the Optimize plan, every verified variant with its figures and its .tflite, the
chosen one, the Deploy target, the Monitor's port) and what the screen adds (`ui`: the page shown,
the Optimize page's choices, the Monitor's layout). docs/project-file.md describes every field.

Reopening one: `read_project` checks it, `locate_model` finds the model again (at its path, or at
the path a person points to when it moved, matched by content hash) and says whether it changed,
`restore_variants` brings back the variants of an unchanged model.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import __version__
from workbench.core.errors import WorkbenchError
from workbench.core.files import file_sha256, write_whole
from workbench.session import FORMAT_VERSION as SESSION_VERSION
from workbench.session import Session
from workbench.tasks import Task, null_task

if TYPE_CHECKING:
    from workbench.core.model import Model
    from workbench.optimize.convert import Variant

SUFFIX = ".tmlw"
KIND = "tinyml-workbench-project"
VERSION = 1

SAME, CHANGED, MISSING = "same", "changed", "missing"


def project_json(state: Session, ui: dict[str, Any] | None = None) -> dict[str, Any]:
    """The project file's content for `state` and the screen's own `ui` settings."""
    return {
        "kind": KIND,
        "version": VERSION,
        "app_version": __version__,
        "saved": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "session": state.to_json(),
        "ui": ui or {},
    }


def project_path(path: str | Path) -> Path:
    """`path` ending in .tmlw (added when it has another ending)."""
    path = Path(path).expanduser()
    return path if path.suffix.lower() == SUFFIX else path.with_name(path.name + SUFFIX)


def save_project(path: str | Path, state: Session, ui: dict[str, Any] | None = None) -> Path:
    """Write the project atomically (a failed write leaves the previous file); returns its path."""
    if state.model is None:
        raise WorkbenchError("there is nothing to save yet", "Open a model first.")
    text = json.dumps(project_json(state, ui), indent=1)
    return write_whole(project_path(path), text.encode("utf-8"))


def read_project(path: str | Path) -> dict[str, Any]:
    """The checked content of a project file; WorkbenchError (one sentence) for anything else."""
    path = Path(path).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorkbenchError(f"{path.name}: no such project file", "Check the path, or open another project.") from None
    except OSError as error:
        raise WorkbenchError(f"{path.name}: cannot be read ({error.strerror or error})") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise WorkbenchError(f"{path.name} is not a TinyML Workbench project (not JSON text)") from None
    if not isinstance(data, dict) or data.get("kind") != KIND or not isinstance(data.get("session"), dict):
        raise WorkbenchError(f"{path.name} is not a TinyML Workbench project")
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise WorkbenchError(
            f"{path.name} was saved by a newer TinyML Workbench ({data.get('app_version', 'unknown')})",
            f"This is {__version__}; update the app to open it.",
        )
    if not isinstance(data.get("ui", {}), dict) or data["session"].get("version") != SESSION_VERSION:
        raise WorkbenchError(f"{path.name} is damaged: its session cannot be read", "Open the model itself instead.")
    return data


@dataclass(frozen=True)
class ModelLocation:
    """Where a project's model is now: `path` (None when it has none), and `status`: same (as
    saved), changed (the file differs from the one saved with the project) or missing."""

    path: Path | None
    status: str

    @property
    def message(self) -> str:
        if self.path is None:
            return ""
        if self.status == CHANGED:
            return f"{self.path.name} changed since the project was saved: its optimized variants were left out."
        if self.status == MISSING:
            return f"{self.path.name} is no longer at {self.path.parent}."
        return ""


def locate_model(project: dict[str, Any], candidate: str | Path | None = None) -> ModelLocation:
    """The project's model at its saved path, or at `candidate` (where a person says it is now)."""
    model = project["session"].get("model") or {}
    where = candidate if candidate is not None else model.get("path")
    if not where:
        return ModelLocation(None, SAME)
    path = Path(str(where)).expanduser()
    if not path.exists():
        return ModelLocation(path, MISSING)
    expected = model.get("file_sha256")
    if not expected:  # nothing to compare with: only the very path it was saved with counts as the same
        return ModelLocation(path, SAME if candidate is None else CHANGED)
    return ModelLocation(path, SAME if file_sha256(path) == expected else CHANGED)


def restore_variants(
    project: dict[str, Any], model: Model, task: Task | None = None
) -> tuple[list[Variant], int | None]:
    """The project's verified variants of `model` (each measured in TFLM again) and the index of the
    chosen one (None: the model as it is)."""
    from workbench.optimize.convert import variant_from_record

    task = task or null_task()
    records = [r for r in project["session"].get("variants", []) if isinstance(r, dict)]
    variants = []
    for index, record in enumerate(records):
        task.check()
        share = 1.0 / len(records)
        variants.append(variant_from_record(record, model, task.span(index * share, (index + 1) * share)))
    chosen = project["session"].get("chosen_variant")
    return variants, chosen if isinstance(chosen, int) and 0 <= chosen < len(variants) else None
