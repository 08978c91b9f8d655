"""Stand-in for esptool 5.6.0: the parts of `esptool.cmds`, `esptool.logger` and `esptool.util` the
workbench's esptool worker uses, with the same signatures, exception classes and messages.

No hardware: a pretend chip answers on any port. See ../README.md for the settings.
"""

__version__ = "5.6.0-standin"
