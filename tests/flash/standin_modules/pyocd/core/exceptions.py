"""pyocd.core.exceptions: the same classes, in the same hierarchy, as pyOCD 0.46.0."""

from __future__ import annotations


class Error(RuntimeError):
    pass


class InternalError(Error):
    pass


class TimeoutError(Error):  # noqa: A001 - pyOCD's own name
    pass


class TargetSupportError(Error):
    pass


class ProbeError(Error):
    pass


class ProbeDisconnected(ProbeError):
    pass


class TargetError(Error):
    pass


class DebugError(TargetError):
    pass


class TransferError(DebugError):
    pass


class TransferTimeoutError(TransferError):
    pass


class TransferFaultError(TransferError):
    pass


class FlashFailure(TargetError):
    def __init__(self, *args, **kwargs):
        super().__init__(*args)
        self._address = kwargs.get("address", None)
        self._result_code = kwargs.get("result_code", None)

    @property
    def address(self):
        return self._address

    @property
    def result_code(self):
        return self._result_code

    def __str__(self):
        desc = super().__str__()
        parts = []
        if self.address is not None:
            parts.append(f"address 0x{self.address:08x}")
        if self.result_code is not None:
            parts.append(f"result code 0x{self.result_code:x}")
        if parts:
            desc += (" " if desc else "") + "({})".format("; ".join(parts))
        return desc


class FlashEraseFailure(FlashFailure):
    pass


class FlashProgramFailure(FlashFailure):
    pass
