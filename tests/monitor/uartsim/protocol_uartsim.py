"""`uartsim://BAUD?line=TEXT&open_s=S`: a board printing TEXT (default `a:0.5 b:0.25`) once every
5 ms at BAUD, as a port opened at some baud rate receives it: equal rates give the text, other rates
what a real UART reads then (tests/monitor/uart_line.py). Opening it takes S seconds (default 0),
as some USB serial adapters' drivers do. Registered with
serial.protocol_handler_packages by the tests that use it."""

from __future__ import annotations

import time
import urllib.parse

from serial.serialutil import PortNotOpenError, SerialBase, SerialException

from tests.monitor.uart_line import received

LINE_PERIOD_S = 0.005


class Serial(SerialBase):
    def open(self) -> None:
        if self._port is None:
            raise SerialException("Port must be configured before it can be used.")
        parts = urllib.parse.urlsplit(self._port)
        self._tx_baud = int(parts.netloc)
        query = urllib.parse.parse_qs(parts.query)
        self._text = (query.get("line", ["a:0.5 b:0.25"])[0] + "\r\n").encode()
        time.sleep(float(query.get("open_s", ["0"])[0]))
        self._pending = bytearray()
        self._next_line_at = time.monotonic()
        self.is_open = True

    def close(self) -> None:
        self.is_open = False

    def _reconfigure_port(self) -> None:
        pass

    def _produce(self) -> None:
        now = time.monotonic()
        while self._next_line_at <= now:
            self._pending += received(self._text, self._tx_baud, self._baudrate)
            self._next_line_at += LINE_PERIOD_S

    @property
    def in_waiting(self) -> int:
        if not self.is_open:
            raise PortNotOpenError()
        self._produce()
        return len(self._pending)

    def read(self, size: int = 1) -> bytes:
        if not self.is_open:
            raise PortNotOpenError()
        deadline = time.monotonic() + (self._timeout or 0.0)
        while True:
            self._produce()
            if self._pending or time.monotonic() >= deadline:
                break
            time.sleep(LINE_PERIOD_S / 2)
        data, self._pending = bytes(self._pending[:size]), self._pending[size:]
        return data

    def write(self, data: bytes) -> int:
        return len(data)

    def reset_input_buffer(self) -> None:
        self._pending.clear()
        self._next_line_at = time.monotonic()

    def reset_output_buffer(self) -> None:
        pass
