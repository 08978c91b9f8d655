"""Capture what native code (TFLM, the TFLite converter) prints straight to file descriptors.

C and C++ code writes to descriptors 1 and 2, past Python's `sys.stdout`; only redirecting the
descriptors catches it. Child processes only: the app's own process never redirects them.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO


@contextmanager
def captured_native_output(
    fds: Sequence[int] = (1, 2), log_path: str | None = None, echo: bool = False
) -> Iterator[list[str]]:
    """Collect, as lines, what is written to `fds` inside the block.

    With `log_path` the text goes to that file (emptied first), where it stays readable by the
    parent if the process dies inside the block. With `echo` it is also passed on to the real
    stderr afterwards, so that the process runner's log keeps it.
    """
    lines: list[str] = []
    sink: IO[bytes]
    sys.stdout.flush()
    sys.stderr.flush()
    with open(log_path, "w+b") if log_path else tempfile.TemporaryFile() as sink:
        saved = [os.dup(fd) for fd in fds]
        for fd in fds:
            os.dup2(sink.fileno(), fd)
        try:
            yield lines
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in zip(fds, saved, strict=True):
                os.dup2(copy, fd)
                os.close(copy)
            sink.seek(0)
            text = sink.read().decode("utf-8", errors="replace")
            lines.extend(text.splitlines())
            if echo and text:
                sys.stderr.write(text)
                sys.stderr.flush()
