"""An example TinyML Workbench plugin package: the workbench finds the Parser and Flasher
subclasses named here and the board files in boards/ (see docs/plugins.md)."""

from workbench_example_plugin.flasher import ExampleFlasher
from workbench_example_plugin.parser import ExampleSenseParser

__all__ = ["ExampleFlasher", "ExampleSenseParser"]
