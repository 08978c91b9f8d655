"""On PYTHONPATH: this process and its children behave as the lite edition, which has no
TensorFlow, Keras or QtWebEngine (a bundle built without them): importing one fails as it would there."""

import importlib.abc
import sys

_MISSING = ("tensorflow", "tf_keras", "keras", "tensorboard")
_MISSING_QT = ("PySide6.QtWebEngineCore", "PySide6.QtWebEngineWidgets")


class _LiteEdition(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):  # type: ignore[no-untyped-def]
        if name.split(".")[0] in _MISSING or name.startswith(_MISSING_QT):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _LiteEdition())
