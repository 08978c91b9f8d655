"""On PYTHONPATH during `make test-fast`: a process that imports TensorFlow fails at once.

Tests that start TensorFlow must be marked `slow`; this guard makes an unmarked one fail
in the fast run (in the test process and in every child process it starts) instead of
quietly making the fast run slow.
"""

import importlib.abc
import sys

_FORBIDDEN = ("tensorflow", "tf_keras", "keras")


class _NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):  # type: ignore[no-untyped-def]
        if name.split(".")[0] in _FORBIDDEN:
            raise ImportError(f"{name} imported in the fast test run: mark the test @pytest.mark.slow")
        return None


sys.meta_path.insert(0, _NoTensorFlow())
