"""A wrong baud rate is recognised from what a UART really reads then, and the board's rate is
found: a simulated board (uartsim://BAUD, tests/monitor/uart_line.py) sampled at other rates."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import serial

from tests.monitor.conftest import wait_for
from tests.monitor.uart_line import received
from workbench.monitor.baud import Garble, GarbledShare, count_garbled, find_baud, readable_share
from workbench.monitor.stream import MonitorStream
from workbench.plugins import registry
from workbench.tasks import Task

TEXT = b"idle:0.125 wave:0.875\r\n" * 50


@pytest.fixture(autouse=True)
def uartsim() -> Iterator[None]:
    serial.protocol_handler_packages.append("tests.monitor.uartsim")
    yield
    serial.protocol_handler_packages.remove("tests.monitor.uartsim")


def test_a_uart_at_the_right_rate_reads_the_text_and_at_a_wrong_one_mostly_garbage() -> None:
    assert received(TEXT, 115200, 115200) == TEXT
    for wrong in (9600, 57600, 230400):
        share = GarbledShare()
        share.add(received(TEXT * 4, 115200, wrong))
        assert share.mostly_garbled, wrong
    share = GarbledShare()
    share.add(TEXT)
    assert share.chars > 1000 and share.bad_chars == 0 and not share.mostly_garbled
    assert count_garbled(["a:1", "", "\xff\ufffd", "  "]) == Garble(nonblank=2, lines=1)


def test_readable_share_is_of_lines() -> None:
    assert readable_share(TEXT) == 1.0
    assert readable_share(b"") is None
    assert readable_share(b"ok\n\xff\xfe\n") == 0.5


def test_a_stream_at_the_wrong_rate_says_so_and_names_rates_to_try() -> None:
    stream = MonitorStream("uartsim://115200", 9600, parsers=registry().parsers())
    stream.start()
    try:
        wait_for(lambda: stream.stats().wrong_baud, "the wrong rate to be noticed")
        stats = stream.stats()
    finally:
        stream.stop()
    assert stats.records == 0
    assert "9600" in stats.message and "115200" in stats.message


def test_a_stream_at_the_right_rate_has_nothing_unreadable() -> None:
    stream = MonitorStream("uartsim://115200", 115200, parsers=registry().parsers())
    stream.start()
    try:
        wait_for(lambda: stream.stats().records >= 50, "50 records")
        stats = stream.stats()
    finally:
        stream.stop()
    assert (stats.parser, stats.unreadable, stats.wrong_baud) == ("arduino", 0, False)


def test_find_baud_listens_at_the_common_rates_until_one_reads_as_text() -> None:
    search = find_baud("uartsim://57600", Task(), listen_s=0.2)
    assert search.baud == 57600
    assert list(search.readable)[-1] == 57600 and search.readable[57600] == 1.0
    assert all(share is not None and share < 0.5 for rate, share in search.readable.items() if rate != 57600)
