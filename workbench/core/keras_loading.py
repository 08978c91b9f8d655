"""Child-process side of opening a .keras or .h5 file: refuse code from the file, then load it with
the Keras that wrote it.

A .h5 written by Keras 2 (TensorFlow 2.x's tf.keras, which wrote most published TinyML models),
or a .keras archive tf_keras wrote, is loaded with `tf_keras`, the Keras 2 that matches the
installed TensorFlow: converted from there, it becomes the same graph TensorFlow's converter
made when the model was trained (batch norm folded into CONV_2D / DEPTHWISE_CONV_2D /
FULLY_CONNECTED). Keras 3 files are loaded with Keras 3. A .h5 that does not say who wrote it
goes to Keras 3 first and to tf_keras when Keras 3 refuses it.

Imported only in child processes; TensorFlow is imported inside the functions.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from workbench.core.errors import UnsafeModelError, WorkbenchError
from workbench.core.keras_config import check_h5_model, keras_version, read_keras_config

_UNRECOGNIZED = re.compile(r"Unrecognized keyword arguments? passed to (\w+): \{([^}]*)\}")
_UNKNOWN_CLASS = re.compile(
    r"Unknown (?:layer|object|class)\w*:? '?([\w>.]+)'?|Could not locate (?:class|function) '?([\w>.]+)'?"
)
_UNSAFE_HINT = "Open it again and allow code from this file only if you trust where it came from."

# Names Keras configs use for themselves and for serialized values, not classes of a module.
_FRAMEWORK_NAMES = {
    "Functional",
    "Sequential",
    "Model",
    "InputLayer",
    "DTypePolicy",
    "FloatDTypePolicy",
    "Policy",
    "__tensor__",
    "__keras_tensor__",
    "__numpy__",
    "__lambda__",
    "__typespec__",
    "__tuple__",
    "function",
    "TensorShape",
}
# tf.keras turned a TensorFlow call in a functional model (`tf.nn.relu6(x)`, `x[:, 0]`) into one
# of these layers. The config names an exported TensorFlow function (never code), which is
# accepted from the namespaces of tensor maths only, or at the top level unless it loads native
# code, runs Python or builds functions.
_TF_OP_LAYERS = {"TFOpLambda", "SlicingOpLambda"}
_TF_OP_NAMESPACES = ("math.", "nn.", "linalg.", "image.", "signal.", "bitwise.", "random.", "__operators__.")
_TF_OP_REFUSED = {"load_op_library", "load_library", "py_function", "numpy_function", "print", "function"}


def _tf_call_allowed(function: str) -> bool:
    if "." in function:
        return function.startswith(_TF_OP_NAMESPACES)
    return bool(function) and function not in _TF_OP_REFUSED and not function.startswith("_")


def _classes(config: Any) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(class name, inner config, registered name) of every serialized object in a stored config."""
    if isinstance(config, dict):
        name, inner = config.get("class_name"), config.get("config")
        if isinstance(name, str) and isinstance(inner, dict):
            yield name, inner, str(config.get("registered_name") or "")
        for value in config.values():
            yield from _classes(value)
    elif isinstance(config, list):
        for value in config:
            yield from _classes(value)


def keras_module_of(model: Any) -> Any:
    """The Keras package a model belongs to: `tf_keras` (Keras 2) or `keras` (Keras 3).

    Losses, optimizers, callbacks and cloning must come from the model's own package.
    """
    legacy = any(cls.__module__.split(".")[0] == "tf_keras" for cls in type(model).__mro__)
    return importlib.import_module("tf_keras" if legacy else "keras")


def safe_mode_scope(keras: Any, safe: bool) -> Any:
    """The Keras package's own scope that refuses (or, not `safe`, allows) Lambda code while
    layers are rebuilt from configs, as loading and cloning do."""
    return importlib.import_module(f"{keras.__name__}.src.saving.serialization_lib").SafeModeScope(safe)


def tf_keras_installed() -> bool:
    """Whether the Keras 2 package (tf-keras on PyPI) can be imported."""
    return importlib.util.find_spec("tf_keras") is not None


def code_layers(config: Any, tf_keras: bool) -> list[str]:
    """Layers of a stored config that carry code, found without Keras: Lambda layers, and with
    `tf_keras` loading the file, TensorFlow calls outside the allowed functions."""
    found = []
    for name, inner, _ in _classes(config):
        if name == "Lambda":
            found.append(f"Lambda layer '{inner.get('name', '')}' (it stores Python code)")
        elif name in _TF_OP_LAYERS and tf_keras and not _tf_call_allowed(str(inner.get("function", ""))):
            found.append(f"TensorFlow call 'tf.{inner.get('function', '')}' (layer '{inner.get('name', '')}')")
    return found


def unsafe_parts(config: Any, packages: list[Any] | None = None) -> list[str]:
    """Layers whose loading would run code from the file: Lambda layers and custom objects.

    A class counts as built in when one of `packages` (keras and/or tf_keras modules; Keras 3
    by default) defines it.
    """
    if packages is None:
        import keras

        packages = [keras]
    legacy = any(p.__name__ == "tf_keras" for p in packages)
    found = code_layers(config, legacy)
    for name, inner, registered in _classes(config):
        if name == "Lambda" or (legacy and name in _TF_OP_LAYERS):
            continue
        if ">" in registered or not any(_is_builtin(p, name) for p in packages):
            layer = inner.get("name", "")
            found.append(f"custom object '{registered or name}'" + (f" (layer '{layer}')" if layer else ""))
    return found


def _is_builtin(package: Any, class_name: str) -> bool:
    if class_name in _FRAMEWORK_NAMES:
        return True
    namespaces = (
        "layers",
        "models",
        "initializers",
        "regularizers",
        "constraints",
        "activations",
        "losses",
        "optimizers",
        "metrics",
        "saving",
    )
    return hasattr(package, class_name) or any(hasattr(getattr(package, n, None), class_name) for n in namespaces)


def load_keras(path: Path, fmt: str, allow_unsafe: bool) -> Any:
    """Load a .keras or .h5 model in safe mode with the Keras that wrote it (see the module docs).

    Raises UnsafeModelError when the file holds code (unless `allow_unsafe`), WorkbenchError when
    no Keras here can load it.
    """
    if fmt == "h5":
        check_h5_model(path)
    loaders = _loaders(path, fmt)
    config = read_keras_config(path, fmt) if not allow_unsafe else None
    if config is not None:
        # Layers with code are found in the config alone, before Keras (and TensorFlow) is imported.
        names = [name for name, _ in loaders]
        unsafe = code_layers(config, "tf_keras" in names) or unsafe_parts(
            config, [importlib.import_module(name) for name in names]
        )
        if unsafe:
            raise UnsafeModelError(
                f"{path.name}: refused to open: it contains {unsafe[0]}"
                + (f" and {len(unsafe) - 1} more" if len(unsafe) > 1 else "")
                + "; loading it would run code from the file",
                "Allow code from this file only if you trust where it came from (--allow-unsafe on the command line).",
            )
    failures: list[WorkbenchError] = []
    for _, loader in loaders:
        try:
            return loader(path, allow_unsafe)
        except UnsafeModelError:
            raise
        except WorkbenchError as error:
            failures.append(error)
    first = failures[0]
    raise WorkbenchError(first.message, first.hint, "\n\n".join(f.details for f in failures if f.details))


def keras_packages_for(path: Path, fmt: str) -> list[str]:
    """The Keras packages to load a .keras or .h5 file with, in the order to try them.

    Keras 2 files (tf.keras' .h5, or tf_keras' own .keras archive) go to tf_keras first; Keras 3
    files to Keras 3 only; a .h5 that does not say who wrote it to Keras 3, then tf_keras.
    """
    version = keras_version(path, fmt) or ""
    if version.startswith("3.") or not tf_keras_installed():
        return ["keras"]
    if version.startswith("2."):
        return ["tf_keras", "keras"]
    return ["keras", "tf_keras"] if fmt == "h5" else ["keras"]


def _loaders(path: Path, fmt: str) -> list[tuple[str, Callable[[Path, bool], Any]]]:
    """(package name, loader) for each package of `keras_packages_for`."""
    loader = {"keras": load_with_keras3, "tf_keras": load_with_tf_keras}
    return [(name, loader[name]) for name in keras_packages_for(path, fmt)]


def _lenient(keras: Any, class_name: str, dropped: set[str]) -> type:
    """A subclass of a builtin layer that ignores keywords older Keras versions wrote."""
    base = getattr(keras.layers, class_name)

    class Lenient(base):  # type: ignore[misc, valid-type]
        @classmethod
        def from_config(cls, config: dict[str, Any]) -> Any:
            return base.from_config({k: v for k, v in config.items() if k not in dropped})

    Lenient.__name__ = class_name
    return Lenient


def load_with_keras3(path: Path, allow_unsafe: bool) -> Any:
    """Load with Keras 3, tolerating keywords it no longer knows (a .h5 Keras 3 itself wrote may carry them)."""
    import keras

    custom: dict[str, Any] = {}
    dropped: dict[str, set[str]] = {}
    for _ in range(12):
        try:
            return keras.models.load_model(path, compile=False, safe_mode=not allow_unsafe, custom_objects=custom)
        except (TypeError, ValueError) as error:
            text = str(error)
            match = _UNRECOGNIZED.search(text)
            if match and hasattr(keras.layers, match.group(1)):
                keys = set(re.findall(r"'(\w+)'", match.group(2)))
                dropped.setdefault(match.group(1), set()).update(keys)
                custom[match.group(1)] = _lenient(keras, match.group(1), dropped[match.group(1)])
                continue
            raise _load_error(path, "Keras 3", text) from None
        except (KeyError, AttributeError, IndexError, NotImplementedError) as error:
            # Keras 3 trips over a config it does not understand: say so, so that tf_keras is tried.
            raise _load_error(path, "Keras 3", f"{type(error).__name__}: {error}") from None
    raise WorkbenchError(
        f"{path.name}: Keras cannot load it: it has more arguments from older Keras versions than it can skip",
        "Open the file where it was trained and save it again, or export a .tflite there.",
    )


def load_with_tf_keras(path: Path, allow_unsafe: bool) -> Any:
    """Load with tf_keras (Keras 2), with its safe mode on unless `allow_unsafe`.

    tf_keras applies safe mode to .h5 files only inside its SafeModeScope, so the scope is set here.
    """
    import tf_keras

    try:
        with safe_mode_scope(tf_keras, not allow_unsafe):
            return tf_keras.models.load_model(path, compile=False)
    except (TypeError, ValueError, KeyError, AttributeError, NotImplementedError) as error:
        raise _load_error(path, "Keras 2 (tf_keras)", f"{type(error).__name__}: {error}") from None


def _load_error(path: Path, which: str, text: str) -> WorkbenchError:
    """A Keras loading failure as one line; Keras' own words go to the details."""
    details = f"{which}: {text}"
    unknown = _UNKNOWN_CLASS.search(text)
    if not unknown and ("safe_mode" in text or re.search(r"\bLambda\b", text)):
        return UnsafeModelError(
            f"{path.name}: refused to load a layer that would run code from the file", _UNSAFE_HINT, details
        )
    if unknown or "could not be deserialized" in text:
        name = next((g for g in unknown.groups() if g), "") if unknown else ""
        what = f" '{name}'" if name else ""
        return WorkbenchError(
            f"{path.name}: Keras cannot load it: it needs the Python code of a custom layer or object{what} "
            "that is not installed here",
            "Install the package that defines it, or export the model as .tflite where it was trained.",
            details,
        )
    return WorkbenchError(
        f"{path.name}: Keras cannot rebuild the model from the file (its layer configuration is not one "
        "this Keras understands)",
        "Open it where it was trained and save it again (model.save), or export a .tflite there.",
        details,
    )
