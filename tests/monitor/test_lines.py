"""LineSplitter: lines joined across chunks, every line ending, bad bytes, and lines too long."""

from __future__ import annotations

import pytest

from workbench.monitor.lines import MAX_LINE_BYTES, LineSplitter, looks_cut

# What a board may print: boot text, CRLF and LF and lone CR endings, bytes that are not UTF-8,
# a two-byte character, an empty line, and a last line without its ending.
TRANSCRIPT = b"boot v1\r\na:1 b:2\r\n\xff\xfe\x00junk\na:3 b:4\rtemp: 21.5 \xc2\xb0C\n\r\na:5 b:6\npartial"
LINES = ["boot v1", "a:1 b:2", "\ufffd\ufffd\x00junk", "a:3 b:4", "temp: 21.5 °C", "", "a:5 b:6"]


def feed_all(splitter: LineSplitter, chunks: list[bytes]) -> list[str]:
    lines: list[str] = []
    for chunk in chunks:
        lines += splitter.feed(chunk)
    return lines


def test_a_transcript_split_at_every_position_gives_the_same_lines() -> None:
    """Wherever the chunks break (inside a CRLF, inside a UTF-8 character, inside garbage), the
    lines are the same, and the unfinished last line waits for flush()."""
    for cut in range(len(TRANSCRIPT) + 1):
        splitter = LineSplitter()
        assert feed_all(splitter, [TRANSCRIPT[:cut], TRANSCRIPT[cut:]]) == LINES, f"cut at {cut}"
        assert splitter.flush() == ["partial"]
    for second in range(1, len(TRANSCRIPT)):  # three chunks: every pair of cuts
        for first in range(second):
            splitter = LineSplitter()
            chunks = [TRANSCRIPT[:first], TRANSCRIPT[first:second], TRANSCRIPT[second:]]
            assert feed_all(splitter, chunks) == LINES, f"cuts at {first}, {second}"


def test_a_transcript_fed_one_byte_at_a_time_gives_the_same_lines() -> None:
    splitter = LineSplitter()
    assert feed_all(splitter, [bytes([byte]) for byte in TRANSCRIPT]) == LINES
    assert splitter.flush() == ["partial"]


def test_cr_lf_and_crlf_each_end_one_line() -> None:
    """CRLF is one ending, also split between chunks; LF CR and CR CR are two; empty lines stay."""
    splitter = LineSplitter()
    assert splitter.feed(b"a\r\nb\nc\rd\n\re\r\rf\n") == ["a", "b", "c", "d", "", "e", "", "f"]
    assert splitter.feed(b"g\r") == ["g"]
    assert splitter.feed(b"\nh\r") == ["h"]  # the LF completes the CRLF: no empty line
    assert splitter.feed(b"\r") == [""]  # a second CR is a second ending
    assert splitter.feed(b"\n") == []  # ...whose LF belongs to it
    assert splitter.feed(b"i\n") == ["i"]


def test_bytes_that_are_not_utf8_become_replacement_characters() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"\xff\xfe1,2\n\x80\n") == ["\ufffd\ufffd1,2", "\ufffd"]


def test_a_line_longer_than_the_limit_is_cut_counted_and_skipped_to_its_end() -> None:
    """A line over MAX_LINE_BYTES is dropped and counted; what follows its ending is intact,
    whether the long line comes in one chunk or trickles in."""
    splitter = LineSplitter()
    long_line = b"x" * (MAX_LINE_BYTES + 1)
    assert splitter.feed(b"a:1\n" + long_line + b"\r\na:2\n") == ["a:1", "a:2"]
    assert splitter.cut_lines == 1
    assert splitter.feed(b"y" * MAX_LINE_BYTES + b"\n") == ["y" * MAX_LINE_BYTES]  # at the limit: kept
    assert splitter.cut_lines == 1
    for _ in range(3 * MAX_LINE_BYTES // 1000):
        assert splitter.feed(b"z" * 1000) == []
        assert splitter.pending_bytes <= MAX_LINE_BYTES  # memory stays bounded
    assert splitter.feed(b"zzz\r") == []
    assert splitter.feed(b"\na:3\n") == ["a:3"]
    assert splitter.cut_lines == 2


def test_flush_returns_the_line_in_progress_once() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"1,2\n3,") == ["1,2"]
    assert splitter.flush() == ["3,"]
    assert splitter.flush() == []
    assert splitter.feed(b"4\n") == ["4"]


@pytest.mark.parametrize(
    ("first", "following"),
    [
        ("le:0.98 wave:0.02", "idle:0.41 wave:0.59"),  # cut inside a label
        (":0.98 wave:0.02", "idle:0.41 wave:0.59"),  # cut at the colon
        (" wave:0.02", "idle:0.41 wave:0.59"),  # cut at a separator
        ("02", "idle:0.41 wave:0.59"),  # only the last number left
        (",1.5,-2", "0.25,3.5,-12"),  # CSV cut after the first field
        ("nc:1", "sync:1"),
        ('y": 2}', '{"x": 1, "y": 2}'),
    ],
)
def test_a_tail_looks_cut(first: str, following: str) -> None:
    """The end of a line, numbers aside, is a shorter ending of the next line's shape."""
    assert looks_cut(first, following)


@pytest.mark.parametrize(
    ("first", "following"),
    [
        ("idle:0.98 wave:0.02", "idle:0.41 wave:0.59"),  # whole: the same shape
        ("-10.000,1.5,2", "9.875,-0.5,12"),  # numbers of other lengths and signs
        ("5,1.0", "0.25,1.0"),  # cut inside the first number: cannot be seen
        ("Booting...", "a:1 b:2"),
        ("a:1 b:2 c:3", "a:1 b:2"),  # longer
        ("", "a:1"),
    ],
)
def test_a_whole_line_does_not_look_cut(first: str, following: str) -> None:
    assert not looks_cut(first, following)
