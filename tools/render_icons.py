"""Render the app icon (resources/icons/tinyml-workbench.svg) as PNGs at the standard sizes a
desktop asks for, with Qt's own SVG renderer, and as the Windows .ico and macOS .icns the
installers use (Pillow): `python tools/render_icons.py`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def main() -> int:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(ICONS / "tinyml-workbench.svg"))
    if not renderer.isValid():
        print("error: the icon's SVG cannot be read", file=sys.stderr)
        return 1
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        target = ICONS / f"tinyml-workbench-{size}.png"
        if not image.save(str(target), "PNG"):
            print(f"error: cannot write {target}", file=sys.stderr)
            return 1
    del app
    from PIL import Image

    largest = Image.open(ICONS / "tinyml-workbench-512.png")
    largest.save(ICONS / "tinyml-workbench.ico", sizes=[(s, s) for s in SIZES if s <= 256])
    largest.save(ICONS / "tinyml-workbench.icns")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
