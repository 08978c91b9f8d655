"""The udev rules made from the boards' files (workbench/core/udev_rules.py, `udev-rules`)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import run_cli
from workbench.core.udev_rules import udev_rules
from workbench.plugins import load_boards

# One udev assignment or match: KEY, KEY{attribute}, an operator, a double-quoted value (udev(7)).
PAIR = re.compile(r'^([A-Z_]+)(\{[A-Za-z_]+\})?(==|!=|=|\+=|:=)"([^"]*)"$')
MATCH_OPERATORS = {"==", "!="}


def rules_of(text: str) -> dict[str, tuple[str, dict[str, str]]]:
    """'vid:pid' -> (the comment above its rule, its pairs), checking every line reads as udev's
    syntax: comments, blank lines, and rules of comma-separated pairs, matches before assignments."""
    rules: dict[str, tuple[str, dict[str, str]]] = {}
    comment = ""
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("#"):
            comment = line[1:].strip()
            continue
        pairs: dict[str, str] = {}
        assigning = False
        for part in line.split(", "):
            found = PAIR.match(part)
            assert found, f"not udev syntax: {part!r} in {line!r}"
            key, attribute, operator, value = found.groups()
            assert not (assigning and operator in MATCH_OPERATORS), f"a match after an assignment: {line!r}"
            assigning = assigning or operator not in MATCH_OPERATORS
            pairs[key + (attribute or "")] = value
        usb_id = f"{pairs['ATTRS{idVendor}']}:{pairs['ATTRS{idProduct}']}"
        assert usb_id not in rules, f"two rules for {usb_id}"
        rules[usb_id] = (comment, pairs)
    return rules


def test_every_usb_id_of_every_shipped_board_gets_one_rule_naming_its_boards() -> None:
    boards = list(load_boards().boards.values())
    rules = rules_of(udev_rules(boards))
    for board in boards:
        for usb_id in board.usb_ids:
            comment, pairs = rules[usb_id.lower()]
            assert board.name in comment
            assert pairs["SUBSYSTEMS"] == "usb" and pairs["GROUP"] == "plugdev" and pairs["MODE"] == "0660"
            assert pairs["TAG"] == "uaccess" and pairs["ENV{ID_MM_DEVICE_IGNORE}"] == "1"
    assert len(rules) == len({u.lower() for b in boards for u in b.usb_ids})
    assert udev_rules(reversed(boards)) == udev_rules(boards), "the same boards give the same file"


def test_a_new_board_file_yields_its_rule_from_the_command(isolated_home: Path, tmp_path: Path) -> None:
    folder = isolated_home / "plugins" / "boards"
    folder.mkdir(parents=True)
    (folder / "my_board.toml").write_text(
        'name = "My Board"\nmcu = "nRF52840"\nclock_mhz = 64\nflash_kb = 1024\nram_kb = 256\n'
        'usb_ids = ["1209:C0DE"]\n\n[flash]\nflasher = "uf2"\n'
    )
    target = tmp_path / "rules" / "60-tinyml-workbench.rules"
    done = run_cli("udev-rules", "-o", str(target), timeout=120)
    assert done.returncode == 0, done.stderr
    assert "udevadm control --reload-rules" in done.stdout
    comment, pairs = rules_of(target.read_text())["1209:c0de"]
    assert comment == "My Board" and pairs["ATTRS{idVendor}"] == "1209"
    assert [p.name for p in target.parent.iterdir()] == [target.name], "nothing half-written beside it"
    printed = run_cli("udev-rules", timeout=120)
    assert printed.stdout == target.read_text()
