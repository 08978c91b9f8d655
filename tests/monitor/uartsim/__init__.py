"""pyserial URL handlers for the tests: `uartsim://BAUD` (see protocol_uartsim)."""
