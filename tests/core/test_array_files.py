"""NumPy files a person hands us: every way they fail is one plain line naming the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workbench.core.array_files import read_npy, read_npz
from workbench.core.errors import WorkbenchError


def test_good_files_read_back_exactly(tmp_path: Path) -> None:
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "xy.npz", x=x, y=np.array([0, 1, 2]))
    assert np.array_equal(read_npy(tmp_path / "x.npy"), x)
    arrays = read_npz(tmp_path / "xy.npz")
    assert set(arrays) == {"x", "y"} and np.array_equal(arrays["x"], x)


@pytest.mark.parametrize(
    ("name", "content", "reader", "expected"),
    [
        ("garbage.npy", b"garbage, not numpy", read_npy, "not a NumPy .npy file"),
        ("cut.npy", None, read_npy, "damaged or truncated"),
        ("garbage.npz", b"PK\x03\x04garbage", read_npz, "not a NumPy .npz file"),
        ("text.npz", b"hello", read_npz, "not a NumPy .npz file"),
        ("objects.npy", "objects", read_npy, "holds Python objects"),
    ],
)
def test_bad_files_are_one_plain_line(
    tmp_path: Path, name: str, content: object, reader: object, expected: str
) -> None:
    path = tmp_path / name
    if content is None:  # a real .npy cut in half
        np.save(path, np.ones((100, 100), dtype=np.float32))
        path.write_bytes(path.read_bytes()[:2000])
    elif content == "objects":
        np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    else:
        path.write_bytes(content)  # type: ignore[arg-type]
    with pytest.raises(WorkbenchError) as caught:
        reader(path)  # type: ignore[operator]
    assert expected in caught.value.message and name in caught.value.message
    assert "\n" not in caught.value.message and "Traceback" not in caught.value.message
