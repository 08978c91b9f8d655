"""The stand-in packages of tests/flash/standin_modules, loaded beside the real esptool and pyOCD
so that their signatures can be compared (the flashers' children import them by their real names)."""

from __future__ import annotations

import importlib.util
import inspect
import sys
import types
from pathlib import Path
from typing import Any

STANDINS = Path(__file__).resolve().with_name("standin_modules")


def standin(package: str) -> types.ModuleType:
    """The stand-in package loaded beside the real one, as `standin_<package>`."""
    name = f"standin_{package}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, STANDINS / package / "__init__.py", submodule_search_locations=[str(STANDINS / package)]
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def shape(function: Any) -> list[tuple[str, Any, Any]]:
    """A signature without annotations: names, kinds and defaults."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]
