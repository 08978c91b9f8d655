"""One discovery for every kind of plugin (boards, flashers, parsers), from three sources.

Sources, in this order; an item of the same kind and name from a later source replaces the
earlier one (a user's `pico.toml` replaces the built-in board `pico`), and says so in `overrides`:

1. `built-in`: the app's own plugin folder (`plugins/` in the source tree, inside the package
   once installed; see workbench.shipped).
2. `entry-point`: installed packages declaring entry points in the group `tinyml_workbench.plugins`.
   An entry point names either a class (`pkg.flashers:MyFlasher`), which must subclass Flasher or
   Parser, or a module (`pkg`), which contributes the Flasher and Parser subclasses it holds that were
   defined in it or its submodules (a submodule's class counts once the module imports it) and,
   when it is a package, the boards in its `boards/` folder.
3. `user`: the user's plugin folder (`$TINYML_WORKBENCH_HOME/plugins`, else the platform's config
   folder, e.g. ~/.config/tinyml-workbench/plugins on Linux).

A plugin folder holds `boards/*.toml`, `flashers/*.py` and `parsers/*.py`; a Python file
contributes the Flasher (in flashers/) or Parser (in parsers/) subclasses defined in it. Files and
classes whose name starts with `_` are helpers and skipped. Built-ins are loaded exactly like a
user's files. A plugin that fails to load, lacks `name` or `description`, or whose methods do not
match the contract is reported as a PluginProblem and skipped; discovery never fails because of one.

Discovery runs once per process: `registry()` is the process's one `Registry`, which discovers
every kind on first use and keeps the result (so a plugin file executes once) until `reload()`
(the GUI's File > Reload Plugins) discovers again. Everything asks it: the CLI, the pages, the
flash service and the monitor (these two are handed it by their callers, so neither imports this
module), and job children, which find a flasher by name through their own registry
(workbench.plugin_jobs). `discover()` and `load_boards()` read it.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import re
import sys
import threading
import types
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core.boards import BoardCatalog, BoardProblem, board_from_toml
from workbench.core.names import unknown_name
from workbench.flash.api import Flasher
from workbench.monitor.parse import Parser
from workbench.paths import user_plugin_dir
from workbench.shipped import builtin_plugin_dir

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "tinyml_workbench.plugins"
BUILTIN, ENTRY_POINT, USER = "built-in", "entry-point", "user"
KINDS = ("board", "flasher", "parser")
CONTRACTS: dict[str, type[Any]] = {"flasher": Flasher, "parser": Parser}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class Plugin:
    """One discovered plugin: a Board, or a Flasher or Parser class (`implementation`)."""

    kind: str
    name: str
    description: str
    origin: str
    source: str
    implementation: Any = field(repr=False)
    overrides: str = ""

    def to_json(self) -> dict[str, str]:
        keys = ("kind", "name", "description", "origin", "source", "overrides")
        return {key: getattr(self, key) for key in keys}


@dataclass
class PluginProblem:
    """A plugin that was skipped. `kind` is "plugin" when it failed before its kind was known."""

    kind: str
    origin: str
    source: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "origin": self.origin, "source": self.source, "message": self.message}


@dataclass
class PluginCatalog:
    """Every usable plugin (one per kind and name) and every skipped one."""

    plugins: list[Plugin] = field(default_factory=list)
    problems: list[PluginProblem] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[Plugin]:
        return [p for p in self.plugins if p.kind == kind]

    def get(self, kind: str, name: str) -> Plugin:
        """The plugin of this kind and name; raises WorkbenchError naming the known ones."""
        for plugin in self.of_kind(kind):
            if plugin.name == name:
                return plugin
        raise unknown_name(kind, name, [p.name for p in self.of_kind(kind)])

    def flasher(self, name: str) -> Flasher:
        """A new instance of the flasher `name`."""
        instance: Flasher = self.get("flasher", name).implementation()
        return instance

    def parsers(self) -> list[Parser]:
        """A new instance of every parser, in discovery order (built-ins first), for detect()."""
        return [p.implementation() for p in self.of_kind("parser")]

    def parser(self, name: str) -> Parser:
        """A new instance of the parser `name`."""
        instance: Parser = self.get("parser", name).implementation()
        return instance

    def boards(self) -> BoardCatalog:
        """The boards as the core knows them, with the board files that were skipped."""
        catalog = BoardCatalog()
        for plugin in self.of_kind("board"):
            catalog.boards[plugin.name] = plugin.implementation
        for problem in self.problems:
            if problem.kind == "board":
                catalog.problems.append(BoardProblem(problem.source, problem.message))
        return catalog

    def to_json(self) -> dict[str, list[dict[str, str]]]:
        return {"plugins": [p.to_json() for p in self.plugins], "problems": [p.to_json() for p in self.problems]}


class Registry:
    """The plugins of one process: every kind discovered on first use and kept, so each plugin file
    executes once, until `reload()` discovers again. Safe to read from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._catalog: PluginCatalog | None = None
        self.discoveries = 0  # how many times discovery ran in this registry

    def catalog(self) -> PluginCatalog:
        """Every usable plugin and every skipped one (discovered now if not yet)."""
        with self._lock:
            if self._catalog is None:
                self._catalog = _discover_all()
                self.discoveries += 1
            return self._catalog

    def reload(self) -> PluginCatalog:
        """Discover again (plugin files execute again) and return the new catalog."""
        self.forget()
        return self.catalog()

    def forget(self) -> None:
        """Drop what was found; the next read discovers again (a changed plugin folder, a test's own home)."""
        with self._lock:
            self._catalog = None

    def problems(self) -> list[PluginProblem]:
        """The plugins that were skipped, and why."""
        return list(self.catalog().problems)

    def flasher(self, name: str) -> Flasher:
        """A new instance of the flasher `name`; WorkbenchError naming the known ones."""
        return self.catalog().flasher(name)

    def parsers(self) -> list[Parser]:
        """A new instance of every parser, built-ins first (for detection)."""
        return self.catalog().parsers()

    def boards(self) -> BoardCatalog:
        """Every board, with the board files that were skipped."""
        return self.catalog().boards()


_REGISTRY = Registry()


def registry() -> Registry:
    """The one plugin registry of this process."""
    return _REGISTRY


class _Collector:
    """Gathers plugins in source order; a later one of the same kind and name replaces the earlier."""

    def __init__(self, kinds: Collection[str]) -> None:
        self.kinds = set(kinds)
        self.found: dict[tuple[str, str], Plugin] = {}
        self.problems: list[PluginProblem] = []

    def add(self, plugin: Plugin) -> None:
        previous = self.found.pop((plugin.kind, plugin.name), None)
        if previous is not None:
            plugin.overrides = previous.source
            log.info("%s %s from %s replaces %s", plugin.kind, plugin.name, plugin.source, previous.source)
        self.found[(plugin.kind, plugin.name)] = plugin

    def problem(self, kind: str, origin: str, source: str, message: str) -> None:
        log.warning("skipping %s %s: %s", kind, source, message)
        self.problems.append(PluginProblem(kind, origin, source, message))

    def catalog(self) -> PluginCatalog:
        order = sorted(self.found.values(), key=lambda p: (KINDS.index(p.kind), p.name.lower()))
        return PluginCatalog(order, self.problems)


def discover(kinds: Collection[str] = KINDS, extra_board_folders: Iterable[Path] = ()) -> PluginCatalog:
    """The registry's plugins of these kinds (built-ins, entry points, the user folder; discovered
    once per process) with the problems of these kinds and of entry points.

    `extra_board_folders` are read on top, as user folders (board files only: no code runs).
    """
    found = registry().catalog()
    collector = _Collector(kinds)
    for plugin in found.plugins:
        if plugin.kind in collector.kinds:
            collector.found[(plugin.kind, plugin.name)] = replace(plugin)  # a copy: an extra board may override it
    collector.problems = [p for p in found.problems if p.kind in collector.kinds or p.kind == "plugin"]
    if "board" in collector.kinds:
        for folder in extra_board_folders:
            _scan_boards(collector, USER, folder)
    return collector.catalog()


def _discover_all() -> PluginCatalog:
    """Every plugin from the built-ins, entry points and the user folder, in that order (runs their code)."""
    collector = _Collector(KINDS)
    _scan_folder(collector, BUILTIN, builtin_plugin_dir())
    for entry_point in _entry_points():
        _scan_entry_point(collector, entry_point)
    _scan_folder(collector, USER, user_plugin_dir())
    return collector.catalog()


def _scan_folder(collector: _Collector, origin: str, root: Path) -> None:
    if "board" in collector.kinds:
        _scan_boards(collector, origin, root / "boards")
    for kind in ("flasher", "parser"):
        folder = root / f"{kind}s"
        if kind in collector.kinds and folder.is_dir():
            for path in sorted(folder.glob("*.py")):
                if not path.name.startswith("_"):
                    _scan_code_file(collector, origin, kind, path)


def _scan_boards(collector: _Collector, origin: str, folder: Path) -> None:
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.toml")):
        try:
            board = board_from_toml(path, origin)
        except (ValueError, TypeError, OSError) as error:  # TypeError: a value of an odd type
            collector.problem("board", origin, str(path), f"{path.name}: {error}")
            continue
        collector.add(Plugin("board", board.id, board.name, origin, str(path), board))


def _load_file(path: Path, origin: str, kind: str) -> types.ModuleType:
    """Import a plugin file by path, under a module name of its own."""
    module_name = f"tinyml_workbench_plugins.{origin.replace('-', '_')}.{kind}s.{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError("not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look a class's module up here
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _failure(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _scan_code_file(collector: _Collector, origin: str, kind: str, path: Path) -> None:
    try:
        module = _load_file(path, origin, kind)
    except (Exception, SystemExit) as error:  # noqa: BLE001 - plugin code may raise anything
        log.warning("plugin file %s failed to load", path, exc_info=True)
        collector.problem(kind, origin, str(path), f"{path.name}: could not be loaded ({_failure(error)})")
        return
    classes = [cls for found, cls in _contract_classes(module) if found == kind]
    if not classes:
        contract = CONTRACTS[kind].__name__
        collector.problem(kind, origin, str(path), f"{path.name}: defines no {contract} subclass")
    for cls in classes:
        _add_class(collector, origin, str(path), kind, cls)


def _contract_classes(module: types.ModuleType) -> list[tuple[str, type[Any]]]:
    """(kind, class) for each Flasher or Parser subclass defined in `module` or its submodules."""
    found = []
    for value in vars(module).values():
        if not isinstance(value, type) or value.__name__.startswith("_"):
            continue
        defined_here = value.__module__ == module.__name__ or value.__module__.startswith(f"{module.__name__}.")
        for kind, contract in CONTRACTS.items():
            if defined_here and value is not contract and issubclass(value, contract):
                found.append((kind, value))
    return found


def contract_problem(cls: type[Any], contract: type[Any]) -> str | None:
    """What is wrong with `cls` as a plugin of `contract` (Flasher or Parser), or None."""
    for attribute in ("name", "description"):
        value = getattr(cls, attribute, None)
        if not isinstance(value, str) or not value.strip():
            return f"{cls.__name__} has no {attribute}"
    if not _NAME.match(cls.name):
        return f"{cls.__name__}.name {cls.name!r} must be letters, digits, '.', '-' or '_'"
    for method in sorted(contract.__abstractmethods__):
        implementation = getattr(cls, method, None)
        if not callable(implementation) or getattr(implementation, "__isabstractmethod__", False):
            return f"{cls.__name__} does not implement {method}()"
        expected = list(inspect.signature(getattr(contract, method)).parameters)
        try:
            inspect.signature(implementation).bind(*expected)
        except TypeError:
            return f"{cls.__name__}.{method}() must take ({', '.join(expected)})"
        except ValueError:  # no signature to read (a builtin): trust it
            continue
    return None


def _add_class(collector: _Collector, origin: str, source: str, kind: str, cls: type[Any]) -> None:
    problem = contract_problem(cls, CONTRACTS[kind])
    if problem is None:
        try:
            cls()
        except Exception as error:  # noqa: BLE001 - plugin code may raise anything
            log.warning("plugin %s could not be created", cls, exc_info=True)
            problem = f"{cls.__name__} could not be created ({_failure(error)})"
    if problem is not None:
        collector.problem(kind, origin, source, problem)
        return
    collector.add(Plugin(kind, cls.name, cls.description, origin, source, cls))


def _entry_points() -> list[EntryPoint]:
    from importlib import metadata  # 40 ms: only when plugins are looked for

    points = metadata.entry_points(group=ENTRY_POINT_GROUP)
    return sorted(points, key=lambda ep: (ep.dist.name if ep.dist else "", ep.name))


def _scan_entry_point(collector: _Collector, entry_point: EntryPoint) -> None:
    distribution = entry_point.dist.name if entry_point.dist else "?"
    source = f"{distribution}: {entry_point.name} = {entry_point.value}"
    if entry_point.attr and not collector.kinds & set(CONTRACTS):
        return  # a class never carries boards: no need to import it
    try:
        target = entry_point.load()
    except (Exception, SystemExit) as error:  # noqa: BLE001 - plugin code may raise anything
        log.warning("entry point %s failed to load", source, exc_info=True)
        collector.problem("plugin", ENTRY_POINT, source, f"could not be loaded ({_failure(error)})")
        return
    if isinstance(target, type):
        kinds = [kind for kind, contract in CONTRACTS.items() if issubclass(target, contract)]
        if not kinds:
            collector.problem("plugin", ENTRY_POINT, source, f"{target.__name__} is neither a Flasher nor a Parser")
        elif kinds[0] in collector.kinds:
            _add_class(collector, ENTRY_POINT, source, kinds[0], target)
        return
    if not isinstance(target, types.ModuleType):
        collector.problem("plugin", ENTRY_POINT, source, "names neither a module nor a class")
        return
    classes = _contract_classes(target)
    for kind, cls in classes:
        if kind in collector.kinds:
            _add_class(collector, ENTRY_POINT, f"{source} ({cls.__name__})", kind, cls)
    board_folders = [Path(entry) / "boards" for entry in getattr(target, "__path__", [])]
    board_folders = [folder for folder in board_folders if folder.is_dir()]
    if "board" in collector.kinds:
        for folder in board_folders:
            _scan_boards(collector, ENTRY_POINT, folder)
    if not classes and not board_folders:
        collector.problem("plugin", ENTRY_POINT, source, "holds no Flasher or Parser subclass and no boards/ folder")


def load_boards(extra_folders: list[Path] | None = None) -> BoardCatalog:
    """All boards: built-ins, then entry-point packages, then the user folder and `extra_folders`.

    A later file with the same id overrides an earlier one; each board says its origin and source.
    """
    if not extra_folders:
        return registry().boards()
    return discover(kinds=("board",), extra_board_folders=extra_folders).boards()
