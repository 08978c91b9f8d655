"""esptool.logger's scripting interface: TemplateLogger and `log.set_logger(...)`."""

from __future__ import annotations

from abc import ABC, abstractmethod


class TemplateLogger(ABC):
    """The documented custom-logger interface (seven methods)."""

    @abstractmethod
    def print(self, *args, **kwargs):
        pass

    @abstractmethod
    def note(self, message: str):
        pass

    @abstractmethod
    def warning(self, message: str):
        pass

    @abstractmethod
    def error(self, message: str):
        pass

    @abstractmethod
    def stage(self, finish: bool = False):
        pass

    @abstractmethod
    def progress_bar(self, cur_iter: int, total_iters: int, prefix: str = "", suffix: str = "", bar_length: int = 30):
        pass

    @abstractmethod
    def set_verbosity(self, verbosity: str):
        pass


class EsptoolLogger:
    """The `log` object: prints to stdout until a custom logger is installed."""

    def __init__(self) -> None:
        self._custom: TemplateLogger | None = None

    def set_logger(self, new_logger):
        if not isinstance(new_logger, TemplateLogger):
            raise TypeError(
                f"New logger must implement the TemplateLogger interface, got {type(new_logger).__name__!r}"
            )
        self._custom = new_logger

    def print(self, *args, **kwargs) -> None:
        if self._custom is not None:
            self._custom.print(*args, **kwargs)
        else:
            print(*args, **kwargs)

    def note(self, message: str) -> None:
        if self._custom is not None:
            self._custom.note(message)
        else:
            print(f"Note: {message}")

    def warn(self, message: str) -> None:
        if self._custom is not None:
            self._custom.warning(message)
        else:
            print(f"Warning: {message}")

    def stage(self, finish: bool = False) -> None:
        if self._custom is not None:
            self._custom.stage(finish=finish)

    def progress_bar(self, cur_iter: int, total_iters: int, prefix: str = "", suffix: str = "", bar_length: int = 30):
        if self._custom is not None:
            self._custom.progress_bar(cur_iter, total_iters, prefix=prefix, suffix=suffix, bar_length=bar_length)


log = EsptoolLogger()
