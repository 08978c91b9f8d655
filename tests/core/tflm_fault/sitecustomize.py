"""On PYTHONPATH of a test's child processes: TFLM's interpreter segfaults for real (SIGSEGV)
for every arena smaller than $TFLM_FAULT_BELOW_BYTES, as TFLM's LSTM kernel does in prepare.

The crash handling of the arena search is proven this way whatever TFLM release is installed,
and the app itself carries no such switch.
"""

import os
import signal

_below = int(os.environ.get("TFLM_FAULT_BELOW_BYTES", "0"))

if _below:
    from tflite_micro.python.tflite_micro import runtime

    _from_bytes = runtime.Interpreter.from_bytes

    def _crashing_from_bytes(model, *args, arena_size, **kwargs):  # type: ignore[no-untyped-def]
        if arena_size < _below:
            os.kill(os.getpid(), signal.SIGSEGV)
        return _from_bytes(model, *args, arena_size=arena_size, **kwargs)

    runtime.Interpreter.from_bytes = staticmethod(_crashing_from_bytes)
