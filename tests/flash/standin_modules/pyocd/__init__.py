"""Stand-in for pyOCD 0.46.0: ConnectHelper, Session, FileProgrammer and the exception classes the
workbench's pyOCD worker uses, with the same signatures, exception classes and messages.

No hardware: pretend probes (settings "probes") lead to a pretend target whose flash is kept in
memory. See ../README.md for the settings.
"""

__version__ = "0.46.0-standin"
