"""Where the user's own files live: settings, plugins, logs and caches.

A base module: anything may import it, and it imports nothing of the app.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_DIR_NAME = "tinyml-workbench"


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
    """The user's plugin folder (boards/, flashers/, parsers/ inside)."""
    return user_home() / "plugins"
