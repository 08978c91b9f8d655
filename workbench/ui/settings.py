"""The app's remembered settings (window, last folders, ports, choices): one QSettings file in the
user's workbench folder, read by the window and every page through `settings()`."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from workbench.paths import user_home


def settings() -> QSettings:
    return QSettings(str(user_home() / "settings.ini"), QSettings.Format.IniFormat)
