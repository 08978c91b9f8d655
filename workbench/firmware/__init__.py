"""The workbench firmware: its host protocol (protocol.py); images, emulators and validation to come."""
