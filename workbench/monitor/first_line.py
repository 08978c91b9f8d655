"""The first line read after a port opens (or opens again): whole, or the tail of a line?

The port may open while the board is in the middle of a line, whose tail is then the first line
read. It is dropped (the stream counts it in `dropped_partial`: not malformed, nothing is wrong
with the board) when its first bytes came within TAIL_WINDOW_S of the port opening (a board
already printing; a line begun after that is whole) and it looks cut (`lines.looks_cut`: its
shape, numbers aside, is a shorter ending of the next line's: `le:0.5 wave:0.2` before
`idle:0.4 wave:0.3`). So the Arduino IDE 2 plotter's drift (it drops the first line always) is
avoided for a board that starts printing as the port opens (reset by the opening, a virtual
board): its first line has the shape of the next and is kept. The first line waits for the next
one at most TAIL_WAIT_S. Used by the stream's processor thread only.
"""

from __future__ import annotations

from workbench.monitor.lines import looks_cut

TAIL_WINDOW_S = 0.1  # a first line whose bytes came this soon after the port opened may be a tail
TAIL_WAIT_S = 1.0  # how long the first line waits for the next one, to be judged by it

Lines = list[tuple[float, list[str]]]  # groups of lines with the time they arrived


class FirstLine:
    """The judgement of the first line since the port (re)opened; see the module docstring."""

    def __init__(self) -> None:
        self.opened_at = 0.0  # when the port was (re)opened
        self.opening = True  # no line judged since the port opened: the first may be a tail
        self._first_bytes_at: float | None = None  # when the first bytes since then came
        self._waiting: Lines = []  # lines waiting for the first to be judged

    def opened(self, at: float) -> None:
        """The port opened (again) at `at`: the next line read is judged."""
        self.opened_at = at
        self.judge_again()

    def judge_again(self) -> None:
        """The text ended (a disconnect, stop): the next line read is judged again."""
        self.opening, self._first_bytes_at = True, None

    def bytes_came(self, at: float) -> None:
        if self.opening and self._first_bytes_at is None:
            self._first_bytes_at = at

    def judge(self, lines: list[str], arrived: float) -> tuple[Lines, str | None]:
        """Take lines read while judging: the lines that can be parsed now (none while the first
        waits for the next one) and the first line when it was dropped as a tail (else None)."""
        first_bytes = self._first_bytes_at if self._first_bytes_at is not None else arrived
        if not self._waiting and first_bytes - self.opened_at > TAIL_WINDOW_S:
            self.opening = False  # the board began this line after the port opened: it is whole
            return [(arrived, lines)], None
        self._waiting.append((arrived, lines))
        held = (line for _, group in self._waiting for line in group)
        first = next(held)
        dropped = None
        if first.strip():
            following = next((line for line in held if line.strip()), None)
            if following is None:
                if arrived - self._waiting[0][0] < TAIL_WAIT_S:
                    return [], None  # wait for the next line (`waited_long` ends the wait too)
                return self.release(), None  # nothing to judge it by: kept
            if looks_cut(first, following):
                dropped = self._waiting[0][1].pop(0)
        return self.release(), dropped

    def waited_long(self, now: float) -> bool:
        """The first line has waited TAIL_WAIT_S for a next one: `release()` it as it is."""
        return bool(self._waiting) and now - self._waiting[0][0] >= TAIL_WAIT_S

    def release(self) -> Lines:
        """The lines held for judging the first one (the lines after them are whole)."""
        held, self._waiting = self._waiting, []
        self.opening = False
        return [(arrived, group) for arrived, group in held if group]
