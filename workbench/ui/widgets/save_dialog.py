"""Where and how an optimized model is saved: the last folder saved to (never inside the app's
own files), a .tflite suffix added to a bare name, and a question before replacing a file."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from workbench.shipped import builtin_plugin_dir, resources_dir

LAST_FOLDER_KEY = "last_save_dir"
APP_FOLDERS = tuple(
    p.resolve() for p in (Path(__file__).parents[2], resources_dir(), builtin_plugin_dir()) if p.exists()
) + ((Path(sys._MEIPASS).resolve(),) if hasattr(sys, "_MEIPASS") else ())  # PyInstaller's bundle


def inside_app(folder: Path) -> bool:
    """Whether `folder` is part of the app itself (its package, resources, the bundled sample)."""
    folder = folder.resolve()
    return any(folder == root or root in folder.parents for root in APP_FOLDERS)


def save_folder(settings: QSettings, model_folder: Path | None) -> Path:
    """The last folder saved to, else the model's, never one inside the app (Documents then)."""
    for candidate in (str(settings.value(LAST_FOLDER_KEY, "") or ""), str(model_folder or "")):
        if candidate and Path(candidate).is_dir() and not inside_app(Path(candidate)):
            return Path(candidate)
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(documents) if documents and Path(documents).is_dir() else Path.home()


def ask_save_path(parent: QWidget, suggested: Path) -> Path | None:
    """The save dialog: adds .tflite to a bare name, and asks before replacing a file."""
    dialog = QFileDialog(parent, "Save the optimized model", str(suggested.parent), "TFLite model (*.tflite)")
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setDefaultSuffix("tflite")
    dialog.selectFile(suggested.name)
    if not dialog.exec() or not dialog.selectedFiles():
        return None
    return Path(dialog.selectedFiles()[0])


def confirm_replace(parent: QWidget, path: Path) -> bool:
    answer = QMessageBox.question(
        parent,
        "Replace the file?",
        f"{path.name} already exists in {path.parent}. Replace it?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes
