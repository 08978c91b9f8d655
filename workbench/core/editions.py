"""The two editions of the app: the full one, and the lite one that leaves TensorFlow out.

The lite bundle carries everything a `.tflite` model needs end to end (Inspect with TFLM's
interpreter, estimates, Deploy, flashing, Monitor, the virtual board); a Keras model, a conversion
or pruning needs TensorFlow. Work that needs it and finds it missing says so in one sentence
(`needs_full_edition`), never as a failed import.
"""

from __future__ import annotations

import importlib.util

from workbench.core.errors import NeedsFullEdition

# Import roots that only the full edition has: TensorFlow and the Keras packages built on it.
TENSORFLOW_MODULES = frozenset({"tensorflow", "tf_keras", "keras", "tensorboard"})

FULL_EDITION_HINT = (
    "Install the full edition of TinyML Workbench (the download without 'lite' in its name), "
    "or in a Python environment: pip install tinyml-workbench"
)


def has_tensorflow() -> bool:
    """True when TensorFlow can be imported here (without importing it: that takes seconds)."""
    try:
        return importlib.util.find_spec("tensorflow") is not None
    except (ImportError, ValueError):
        return False


def edition() -> str:
    """'full' or 'lite', as the About box and `--version` name it."""
    return "full" if has_tensorflow() else "lite"


def needs_full_edition() -> NeedsFullEdition:
    """The one sentence for work that needs TensorFlow where it is missing."""
    return NeedsFullEdition(
        "This needs TensorFlow (for Keras models, conversions and pruning), "
        "which the lite edition of the app leaves out.",
        FULL_EDITION_HINT,
    )


def missing_tensorflow(error: BaseException) -> NeedsFullEdition | None:
    """`needs_full_edition()` when `error` is a failed import of TensorFlow or Keras, else None."""
    if not isinstance(error, ModuleNotFoundError) or not error.name:
        return None
    if error.name.partition(".")[0] not in TENSORFLOW_MODULES:
        return None
    return needs_full_edition()
