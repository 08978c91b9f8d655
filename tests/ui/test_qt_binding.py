"""The Qt binding itself: a release that corrupts reference counts would abort the app."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    changed = Signal(int)


def test_emitting_a_signal_leaves_the_reference_count_of_true_alone() -> None:
    """PySide6 6.12.0 returned True from emit() without a reference: every signal the app sent
    took one from True, until Python 3.11 aborted ('deallocating True') a few thousand signals on,
    as soon as the Monitor page streams."""
    emitter = _Emitter()
    emitter.changed.connect(lambda _value: None)
    before = sys.getrefcount(True)
    for value in range(1000):
        emitter.changed.emit(value)
    assert abs(sys.getrefcount(True) - before) < 50  # the broken release: 1000 fewer
