"""Calibration, evaluation and training data: read, check against the model, explain problems.

Accepted: `.npz` with arrays `x` and optional `y`; `.npy` (inputs only); `.csv` with one sample a
row, its label as an extra last column or one a line in `<name>_labels.txt` beside it; a folder of
images (one subfolder per class). Everything is checked before any conversion starts.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.core.array_files import read_npy, read_npz
from workbench.core.errors import WorkbenchError
from workbench.core.inference import IMAGE_SUFFIXES, number_table, read_image, read_labels_beside
from workbench.tasks import Task, null_task

WHERE_LABELS_GO = (
    "Labels: array y in a .npz; in a .csv an extra last column, or one a line in <name>_labels.txt "
    "beside it; for images, one subfolder per class."
)
ROLE_SUFFIXES = {"calibration": "calib", "evaluation": "eval", "train": "train"}
DATA_SUFFIXES = (".npz", ".npy", ".csv")


@dataclass
class Dataset:
    """Inputs shaped like the model's input (batch first) and optional labels."""

    x: np.ndarray
    y: np.ndarray | None
    source: str
    class_names: list[str] | None = None
    synthetic: bool = False  # made up (random inputs), not the user's data
    fingerprint: str = ""  # a hash of the content: the same data gives the same fingerprint

    @property
    def labelled(self) -> bool:
        return self.y is not None

    @property
    def name(self) -> str:
        """The file or folder name, or what the synthetic data is."""
        return self.source if self.synthetic else Path(self.source).name

    @property
    def description(self) -> str:
        """'digits_eval.npz: 450 labelled samples'."""
        return f"{self.name}: {len(self)} {'labelled ' if self.labelled else ''}samples"

    def fits(self, input_shape: list[int], output_size: int | None) -> bool:
        """Whether this data suits a model with that input shape (batch first) and output size."""
        if list(self.x.shape[1:]) != [max(d, 1) for d in input_shape[1:]]:
            return False
        if self.y is None or output_size is None or output_size <= 1:
            return True
        return bool(np.issubdtype(self.y.dtype, np.integer) and self.y.max(initial=0) < output_size)

    def __len__(self) -> int:
        return int(self.x.shape[0])


def load_dataset(
    path: str | Path, input_shape: list[int], output_size: int | None = None, task: Task | None = None
) -> Dataset:
    """Read data for a model whose input has `input_shape` (batch first) and `output_size` outputs.

    Raises WorkbenchError for a missing or empty file, a wrong sample size, NaNs, or labels
    outside the model's output range; Cancelled when `task` is cancelled.
    """
    task = task or null_task()
    path = Path(path).expanduser()
    name = path.name
    task.progress(0.0, f"Reading {name}")
    if not path.exists():
        raise WorkbenchError(f"{path}: no such file or folder")
    if path.is_dir():
        x, y, classes = _images(path, input_shape, task.span(0.0, 0.9))
    elif path.stat().st_size == 0:
        raise WorkbenchError(f"{name}: the file is empty")
    else:
        x, y = _arrays(path, input_shape)
        classes = None
    task.progress(0.9, f"Checking {name}")
    sample_shape = [max(d, 1) for d in input_shape[1:]]
    per_sample = math.prod(sample_shape)
    x = np.asarray(x)
    if x.size == 0 or x.shape[0] == 0:
        raise WorkbenchError(f"{name}: holds no samples")
    if x.dtype.kind not in "fiub":
        raise WorkbenchError(f"{name}: inputs must be numbers (found {x.dtype})")
    if x.size // x.shape[0] != per_sample or x.size % x.shape[0]:
        raise WorkbenchError(
            f"{name}: each sample has {x.size // x.shape[0]} values; the model's input "
            f"{tuple(sample_shape)} needs {per_sample}"
        )
    x = x.reshape([x.shape[0], *sample_shape]).astype(np.float32)
    if not np.all(np.isfinite(x)):
        bad = int(np.argwhere(~np.isfinite(x.reshape(x.shape[0], -1)).any(axis=1))[0][0])
        raise WorkbenchError(f"{name}: sample {bad} contains NaN or infinite values")
    if y is not None:
        y = _check_labels(name, np.asarray(y), len(x), output_size)
    task.progress(1.0, f"Read {name}")
    return Dataset(x, y, str(path), classes, fingerprint=fingerprint(x, y))


def fingerprint(x: np.ndarray, y: np.ndarray | None) -> str:
    """A short hash of inputs and labels: equal for the same data wherever it was read from."""
    digest = hashlib.blake2b(digest_size=12)
    for array in (x, y):
        if array is not None:
            digest.update(str((array.dtype.str, array.shape)).encode())
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def synthetic_dataset(input_shape: list[int], count: int, seed: int = 0) -> Dataset:
    """Inputs drawn uniformly over 0..1: enough to calibrate, not to judge accuracy."""
    rng = np.random.default_rng(seed)
    shape = [count, *[max(d, 1) for d in input_shape[1:]]]
    x = rng.random(shape, dtype=np.float32)
    return Dataset(x, None, "random inputs", synthetic=True, fingerprint=fingerprint(x, None))


def data_beside(model_path: str | Path) -> dict[str, Path]:
    """Data shipped beside a model, by role: `<stem>_calib`, `<stem>_eval`, `<stem>_train` (.npz,
    .npy or .csv), where the stem is the model's name or its part before the first '_'."""
    model_path = Path(model_path)
    stems = dict.fromkeys((model_path.stem, model_path.stem.split("_")[0]))
    found = {}
    for role, suffix in ROLE_SUFFIXES.items():
        for stem in stems:
            candidate = next(
                (
                    model_path.parent / f"{stem}_{suffix}{ext}"
                    for ext in DATA_SUFFIXES
                    if (model_path.parent / f"{stem}_{suffix}{ext}").is_file()
                ),
                None,
            )
            if candidate is not None:
                found[role] = candidate
                break
    return found


def _arrays(path: Path, input_shape: list[int]) -> tuple[np.ndarray, np.ndarray | None]:
    suffix = path.suffix.lower()
    if suffix == ".npz":
        arrays = read_npz(path)
        if "x" not in arrays:
            raise WorkbenchError(f"{path.name}: has no array named 'x' (found: {', '.join(arrays) or 'none'})")
        return arrays["x"], arrays.get("y")
    if suffix == ".npy":
        return read_npy(path), None
    if suffix in (".csv", ".txt"):
        try:
            return _csv(path, input_shape)
        except OSError as error:
            raise WorkbenchError(f"{path.name}: cannot be read ({error.strerror or error})") from None
    raise WorkbenchError(f"{path.name}: unknown data format", "Use .npz (x, y), .npy, .csv or a folder of images.")


def _csv(path: Path, input_shape: list[int]) -> tuple[np.ndarray, np.ndarray | None]:
    """One sample a row; a row one value longer than the model's input carries its label last,
    else labels come one a line from `<name>_labels.txt` beside the file, if there is one."""
    per_sample = math.prod(max(d, 1) for d in input_shape[1:])
    table = number_table(path.read_text(encoding="utf-8", errors="replace"), path.name)
    if table.shape[1] == per_sample + 1:
        return table[:, :-1], table[:, -1]
    return table, read_labels_beside(path)


def _images(folder: Path, input_shape: list[int], task: Task) -> tuple[np.ndarray, np.ndarray | None, list[str] | None]:
    if len(input_shape) != 4:
        raise WorkbenchError(f"{folder.name}: a folder of images needs a model with an image input (N, H, W, C)")
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    files: list[tuple[Path, int | None]] = []
    if classes:
        for index, name in enumerate(classes):
            files += [(f, index) for f in sorted((folder / name).iterdir()) if f.suffix.lower() in IMAGE_SUFFIXES]
    else:
        files = [(f, None) for f in sorted(folder.iterdir()) if f.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise WorkbenchError(f"{folder.name}: contains no images ({', '.join(IMAGE_SUFFIXES)})")
    images = []
    for number, (file, _) in enumerate(files):
        if number % 16 == 0:
            task.progress(number / len(files), f"Reading images in {folder.name}: {number} of {len(files)}")
        images.append(read_image(file, input_shape))
    x = np.stack(images)
    y = np.array([label for _, label in files]) if classes else None
    return x, y, classes or None


def _check_labels(name: str, y: np.ndarray, count: int, output_size: int | None) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] > 1:
        y = np.argmax(y, axis=1)  # one-hot labels
    y = y.reshape(-1)
    if len(y) != count:
        raise WorkbenchError(f"{name}: has {count} samples but {len(y)} labels")
    if not np.all(np.isfinite(y.astype(np.float64))):
        raise WorkbenchError(f"{name}: labels contain NaN or infinite values")
    if output_size is not None and output_size > 1:
        if not np.allclose(y, np.round(y)):
            raise WorkbenchError(f"{name}: labels must be class numbers for a classifier")
        y = y.astype(np.int64)
        outside = y[(y < 0) | (y >= output_size)]
        if outside.size:
            raise WorkbenchError(
                f"{name}: label {int(outside[0])} is outside the model's {output_size} classes (0..{output_size - 1})"
            )
    return y
