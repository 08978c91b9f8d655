"""Read NumPy files (.npy, .npz) that a person hands us, with one plain line for each way they fail."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from workbench.core.errors import WorkbenchError

_OBJECTS = "Object arrays cannot be loaded"


def _problem(path: Path, kind: str, error: BaseException) -> WorkbenchError:
    text = str(error)
    if _OBJECTS in text:
        return WorkbenchError(
            f"{path.name}: holds Python objects, not numbers, and objects from a file are never loaded",
            "Save plain numeric arrays (numpy.save / numpy.savez with numbers only).",
        )
    if isinstance(error, OSError) and not isinstance(error, zipfile.BadZipFile) and error.strerror:
        return WorkbenchError(f"{path.name}: cannot be read ({error.strerror})")
    return WorkbenchError(
        f"{path.name}: not a NumPy {kind} file, or it is damaged or truncated",
        "Save it again with numpy.save (.npy) or numpy.savez (.npz, arrays x and y).",
        details=f"{type(error).__name__}: {text}",
    )


def read_npy(path: Path) -> np.ndarray:
    """The array in a .npy file; never unpickles."""
    try:
        with path.open("rb") as handle:
            if handle.read(6) != b"\x93NUMPY":  # else numpy takes it for a pickle
                raise ValueError("no .npy header")
        return np.load(path, allow_pickle=False)  # type: ignore[no-any-return]
    except (ValueError, OSError, EOFError) as error:
        raise _problem(path, ".npy", error) from None


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of a .npz archive, read in full; never unpickles."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise _problem(path, ".npz", error) from None
