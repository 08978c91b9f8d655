"""Files shipped with the app: the built-in plugins and the resources (sample model, theme).

In the source tree they are the top-level `plugins/` and `resources/` folders, where a reader
expects them. pyproject.toml maps those folders into this package as `workbench.shipped.plugins`
and `workbench.shipped.resources`, so a wheel carries them and an editable install finds them,
and they are read through importlib.resources. Running straight from a checkout that was never
installed, or from a PyInstaller bundle, the folders are found beside the package or in the bundle.
"""

from __future__ import annotations

import sys

# Not `from importlib import resources`: importing the subpackage workbench.shipped.resources
# binds the name `resources` in this module, over anything else of that name.
from importlib.resources import files
from pathlib import Path

from workbench.core.editions import has_tensorflow

SOURCE_ROOT = Path(__file__).resolve().parents[2]


def _folder(name: str) -> Path:
    """The shipped folder `name` (plugins or resources) as a path on disk."""
    bundled = Path(getattr(sys, "_MEIPASS", "")) / name
    if getattr(sys, "frozen", False) and bundled.is_dir():  # a bundle carries them as data files
        return bundled
    try:
        root = files(f"{__name__}.{name}")
    except ModuleNotFoundError:  # never installed: a bare checkout
        return SOURCE_ROOT / name
    # Installed as a folder (wheel or editable), the package root is a real directory; plugin
    # files are imported from it by path, so a zipped install is not supported.
    return Path(str(root))


def builtin_plugin_dir() -> Path:
    """The built-in plugins: boards/*.toml, flashers/*.py, parsers/*.py."""
    return _folder("plugins")


def resources_dir() -> Path:
    """The resources folder: samples/ and themes/."""
    return _folder("resources")


def sample_model() -> Path:
    """The bundled sample model the app opens first: the Keras original, or where TensorFlow is
    missing (the lite edition) its int8 conversion, which runs end to end without it."""
    name = "digits.keras" if has_tensorflow() else "digits_int8.tflite"
    return resources_dir() / "samples" / name


def theme_path(name: str = "light") -> Path:
    """A Qt style sheet from resources/themes."""
    return resources_dir() / "themes" / f"{name}.qss"


def guide_path() -> Path | None:
    """The user guide (docs/guide.md) where this copy of the app has it: a checkout or a bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    for root in ([Path(bundle)] if bundle else []) + [SOURCE_ROOT]:
        guide = root / "docs" / "guide.md"
        if guide.is_file():
            return guide
    return None
