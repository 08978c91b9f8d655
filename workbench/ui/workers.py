"""Run engine functions off the GUI thread: a QObject moved to a QThread, one job per key.

Starting a job under a key cancels the job already running under that key; results of a
superseded job are dropped. Callbacks always run on the GUI thread.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from workbench.core.errors import Cancelled, WorkbenchError
from workbench.tasks import Task
from workbench.ui.gui_gc import collect_in_gui_thread

log = logging.getLogger(__name__)


def unexpected(error: BaseException, where: str) -> WorkbenchError:
    """A bug as a person sees it: one line, with the library's own words kept as details."""
    return WorkbenchError(
        f"Something went wrong ({type(error).__name__} in {where}); the app goes on",
        "Details are in the log file (Help > Show Log File).",
        details="".join(traceback.format_exception(error)),
    )


class Job(QObject):
    """Runs `function(*args, task=task)` once, in whatever thread it was moved to."""

    progress = Signal(float, str)
    log = Signal(str)  # a line of the work's own log (Task.log)
    succeeded = Signal(object)
    failed = Signal(object)  # WorkbenchError
    finished = Signal()

    def __init__(self, key: str, function: Callable[..., Any], args: tuple[Any, ...]) -> None:
        super().__init__()
        self.key = key
        self._function = function
        self._args = args
        self.task = Task(on_progress=self.progress.emit, on_log=self.log.emit)

    @Slot()
    def run(self) -> None:
        try:
            result = self._function(*self._args, task=self.task)
            if not self.task.cancelled:
                self.succeeded.emit(result)
        except Cancelled:
            pass
        except WorkbenchError as error:
            if not self.task.cancelled:
                self.failed.emit(error)
        except Exception as error:  # noqa: BLE001 - a bug must reach the person as a message
            log.exception("job %s failed", self.key)
            self.failed.emit(unexpected(error, self.key))
        finally:
            self.finished.emit()


class JobRunner(QObject):
    """Starts jobs in threads, supersedes by key, delivers results on the GUI thread."""

    busy_changed = Signal(bool)
    progress = Signal(str, float, str)  # key, fraction, status
    log = Signal(str, str)  # key, a line of that job's own log (a flashing tool's output)
    unexpected = Signal(object)  # WorkbenchError: a handler of a result failed
    cancelled = Signal(str)  # key: a running job was cancelled (by Esc, or superseded)
    started = Signal(str)  # key
    ended = Signal(str)  # key: the job finished, failed or was cancelled

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        collect_in_gui_thread()  # jobs run Python in other threads: the collector must not
        self._jobs: dict[str, tuple[Job, QThread, Callable[[Any], None], Callable[[WorkbenchError], None]]] = {}
        self._threads: dict[QThread, Job] = {}
        self._closed = False

    def start(
        self,
        key: str,
        function: Callable[..., Any],
        *args: Any,
        on_success: Callable[[Any], None],
        on_error: Callable[[WorkbenchError], None],
    ) -> Job | None:
        """Run `function(*args, task=...)` in a thread, cancelling the job under the same key."""
        self.cancel(key)
        if self._closed:  # the window is closing: start nothing new
            return None
        job = Job(key, function, args)
        thread = QThread()
        job.moveToThread(thread)
        thread.started.connect(job.run)
        job.succeeded.connect(self._on_succeeded)
        job.failed.connect(self._on_failed)
        job.progress.connect(self._on_progress)
        job.log.connect(self._on_log)
        job.finished.connect(self._on_finished)
        # Direct: QThread.quit is thread-safe, and the GUI thread may be blocked in shutdown().
        job.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.finished.connect(lambda t=thread: self._thread_done(t))
        self._jobs[key] = (job, thread, on_success, on_error)
        self._threads[thread] = job
        thread.start()
        self.started.emit(key)
        self.busy_changed.emit(True)
        return job

    def cancel(self, key: str) -> None:
        entry = self._jobs.pop(key, None)
        if entry is not None:
            entry[0].task.cancel()
            self.busy_changed.emit(self.busy)
            self.cancelled.emit(key)
            self.ended.emit(key)

    def cancel_all(self) -> None:
        for key in list(self._jobs):
            self.cancel(key)

    def cancel_front(self) -> None:
        """Cancel the job in front: the one started last that is still running."""
        if self._jobs:
            self.cancel(next(reversed(self._jobs)))

    @property
    def front(self) -> Job | None:
        """The job the progress bar shows: the one started last that is still running."""
        return next(reversed(self._jobs.values()))[0] if self._jobs else None

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Cancel everything, refuse new jobs, and wait for the threads to end."""
        self._closed = True
        self.cancel_all()
        for thread in list(self._threads):
            thread.wait(timeout_ms)

    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    def running(self, key: str) -> bool:
        return key in self._jobs

    def job(self, key: str) -> Job | None:
        """The job running under `key`, if any."""
        entry = self._jobs.get(key)
        return entry[0] if entry else None

    def _current(self, job: QObject | None) -> tuple[Any, ...] | None:
        if isinstance(job, Job) and job.key in self._jobs and self._jobs[job.key][0] is job:
            return self._jobs[job.key]
        return None

    @Slot(object)
    def _on_succeeded(self, result: Any) -> None:
        entry = self._current(self.sender())
        if entry is not None:
            self._deliver(entry[2], result, entry[0].key)

    @Slot(object)
    def _on_failed(self, error: WorkbenchError) -> None:
        entry = self._current(self.sender())
        if entry is not None:
            self._deliver(entry[3], error, entry[0].key)

    def _deliver(self, callback: Callable[[Any], None], value: Any, key: str) -> None:
        """Call a page's handler; a bug in it reaches the one error place instead of stderr."""
        try:
            callback(value)
        except Exception as error:  # noqa: BLE001 - the window must stay usable
            log.exception("handling the result of job %s failed", key)
            self.unexpected.emit(unexpected(error, f"showing the result of {key}"))

    @Slot(float, str)
    def _on_progress(self, fraction: float, status: str) -> None:
        job = self.sender()
        if self._current(job) is not None and job is self.front:
            self.progress.emit(job.key, fraction, status)  # type: ignore[union-attr]

    @Slot(str)
    def _on_log(self, line: str) -> None:
        job = self.sender()
        if self._current(job) is not None:
            self.log.emit(job.key, line)  # type: ignore[union-attr]

    @Slot()
    def _on_finished(self) -> None:
        job = self.sender()
        if self._current(job) is not None:
            self._jobs.pop(job.key, None)  # type: ignore[union-attr]
            self.busy_changed.emit(self.busy)
            self.ended.emit(job.key)  # type: ignore[union-attr]

    def _thread_done(self, thread: QThread) -> None:
        job = self._threads.pop(thread, None)
        if job is not None:
            job.deleteLater()
        thread.deleteLater()
