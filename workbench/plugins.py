"""Where plugins come from: the built-in `plugins/` folder and the user's plugin folder.

Built-ins are found exactly like a user's own: a board is a TOML file in a `boards/`
folder. The user folder is `$TINYML_WORKBENCH_HOME/plugins` when that variable is set,
else the platform's config folder (e.g. ~/.config/tinyml-workbench/plugins on Linux).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_DIR_NAME = "tinyml-workbench"


def builtin_plugin_dir() -> Path:
    """The `plugins/` folder shipped with the app (beside the package, or inside a bundle)."""
    bundled = Path(getattr(sys, "_MEIPASS", "")) / "plugins"
    if bundled.is_dir():
        return bundled
    return Path(__file__).resolve().parent.parent / "plugins"


def user_home() -> Path:
    """The folder for the user's settings, plugins and logs."""
    override = os.environ.get("TINYML_WORKBENCH_HOME")
    if override:
        return Path(override)
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home())) / APP_DIR_NAME
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP_DIR_NAME
    return Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / APP_DIR_NAME


def user_plugin_dir() -> Path:
    return user_home() / "plugins"


def plugin_folders(kind: str) -> list[Path]:
    """Folders that hold plugins of this kind (boards, flashers, parsers), built-ins first."""
    return [builtin_plugin_dir() / kind, user_plugin_dir() / kind]
