"""TinyML Workbench: take a trained neural network to a microcontroller without writing code."""

__version__ = "0.1.0"
