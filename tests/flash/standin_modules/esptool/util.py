"""esptool.util's exception classes, as esptool 5.6.0 defines them (FatalError is a RuntimeError)."""

from __future__ import annotations


class FatalError(RuntimeError):
    """Runtime errors caused by ROM responses or input, not by bugs in esptool."""

    @staticmethod
    def WithResult(message, result):  # noqa: N802 - esptool's name
        return FatalError(f"{message} (result was {result})")


class NotImplementedInROMError(FatalError):
    def __init__(self, bootloader, func) -> None:
        FatalError.__init__(self, f"{bootloader.CHIP_NAME} ROM does not support function {func.__name__}.")


class NotSupportedError(FatalError):
    pass


class UnsupportedCommandError(FatalError):
    pass
