"""The README's and the guide's screenshots, taken from the running app on a virtual display:
`make screenshots` (xvfb-run) writes docs/first_start.png, inspect.png, optimize.png, optimize_layers.png, deploy.png,
monitor.png and monitor_demo.png. Each page is shown as a person would reach it: the first start with
its welcome panel, the bundled sample opened, an int8 conversion on its own data, a Raspberry Pi Pico
chosen, the virtual board monitored."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

WIDTH, HEIGHT = 1400, 880


def main(out: Path) -> int:
    if not os.environ.get("DISPLAY") and os.environ.get("QT_QPA_PLATFORM") != "xcb":
        print("error: run under a display (make screenshots uses xvfb-run)", file=sys.stderr)
        return 2
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from PySide6.QtWidgets import QApplication

    from workbench.ui.app import create_application
    from workbench.ui.main_window import SAMPLE_MODEL, MainWindow

    app = create_application()
    window = MainWindow()
    window.resize(WIDTH, HEIGHT)
    window.move(0, 0)
    window.show()

    def wait(seconds: float, until: Callable[[], bool] | None = None) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not (until is not None and until()):
            app.processEvents()
            time.sleep(0.02)

    def shot(name: str) -> None:
        wait(1.0)
        image = window.screen().grabWindow(0, 0, 0, WIDTH, HEIGHT)
        if not image.save(str(out / name), "PNG"):
            raise SystemExit(f"error: cannot write {out / name}")
        print(f"wrote {out / name}")

    session = window.session
    window.open(SAMPLE_MODEL)
    wait(120, lambda: session.analysis is not None and session.analysis.tflm is not None)
    session.set_board("raspberry_pi_pico")
    wait(5)  # the graph view draws
    shot("first_start.png")
    window.welcome.close_button.click()
    shot("inspect.png")

    window.steps.setCurrentWidget(window.optimize)
    window.optimize.convert()
    wait(300, lambda: window.optimize.shown is not None)
    window.optimize.details.setCurrentIndex(1)
    shot("optimize_layers.png")
    window.optimize.details.setCurrentIndex(0)
    shot("optimize.png")

    window.steps.setCurrentWidget(window.deploy)
    wait(10, lambda: not session.jobs.running("detect"))
    shot("deploy.png")

    window.steps.setCurrentWidget(window.monitor)
    wait(1)
    window.monitor.connect_to("virtual")
    wait(25)
    shot("monitor.png")
    window.set_demo(True)
    wait(3)
    shot("monitor_demo.png")
    window.set_demo(False)
    window.monitor.shutdown()
    window._closing_confirmed = True  # the variant made here is not the person's work
    window.close()
    QApplication.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")))
