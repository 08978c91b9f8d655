"""Putting a model on a board: the Flasher contract (api.py) that flasher plugins implement."""
