"""The one sentence for a name nobody knows (a board id, a flasher, a parser, a command), with the
closest names that exist: `--board pico` -> "unknown board 'pico' (did you mean
'raspberry_pi_pico'?)"."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

from workbench.core.errors import WorkbenchError

SUGGESTIONS = 3


def closest(
    name: str, known: Sequence[str], count: int = SUGGESTIONS, described: Mapping[str, str] | None = None
) -> list[str]:
    """The known names most like `name`: those that contain it (case aside; three letters at
    least), else those whose description does (`described`: name -> text, e.g. a board's full
    name and chip), then those that read alike (difflib); at most `count`."""
    lowered = name.strip().lower()
    if not lowered:
        return []
    by_lower = {item.lower(): item for item in known}
    holding = [item for item in known if len(lowered) >= 3 and lowered in item.lower()]
    if not holding and described and len(lowered) >= 3:
        holding = [item for item in known if lowered in described.get(item, "").lower()]
    alike = [by_lower[item] for item in difflib.get_close_matches(lowered, list(by_lower), n=count, cutoff=0.6)]
    return list(dict.fromkeys(holding + alike))[:count]


def did_you_mean(name: str, known: Sequence[str], described: Mapping[str, str] | None = None) -> str:
    """' (did you mean 'a' or 'b'?)' for the closest names, or '' when none is close."""
    suggestions = closest(name, known, described=described)
    if not suggestions:
        return ""
    return " (did you mean " + " or ".join(f"'{item}'" for item in suggestions) + "?)"


def unknown_name(
    kind: str, name: str, known: Sequence[str], described: Mapping[str, str] | None = None
) -> WorkbenchError:
    """The refusal of a `kind` called `name` that does not exist, with the closest and all the known."""
    listed = ", ".join(known) or "none"
    return WorkbenchError(f"unknown {kind} '{name}'{did_you_mean(name, known, described)}", f"Known {kind}s: {listed}")
