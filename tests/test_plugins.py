"""Plugin discovery (built-ins, entry points, user folder) and detection over the built-in parsers
(uf2 flasher: tests/flash; the parsers: tests/monitor/test_parsers.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.core.errors import WorkbenchError
from workbench.flash.api import FlashJob
from workbench.monitor.parse import Parser, Record, detect
from workbench.plugins import BUILTIN, ENTRY_POINT, USER, builtin_plugin_dir, discover, load_boards, registry

FLASHER_HEADER = "from workbench.flash.api import Availability, Flasher, FlashJob, Step\n"
PARSER_HEADER = "from workbench.monitor.parse import Parser, Record\n"
GOOD_FLASHER = """
class MyFlasher(Flasher):
    name = "mine"
    description = "Copies nothing"
    def available(self): return Availability(ok=False, missing="mytool", hint="pip install mytool")
    def plan(self, job): return [Step("Run mytool", ("mytool", str(job.firmware)))]
    def flash(self, job, task): pass
"""
GOOD_PARSER = """
class {cls}(Parser):
    name = "{name}"
    description = "Every line is one value"
    def sniff(self, lines): return 0.0
    def feed(self, line, time): return [Record(time, {{"line": float(len(line))}})]
"""


@pytest.fixture()
def user_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty user plugin folder of this test's own."""
    monkeypatch.setenv("TINYML_WORKBENCH_HOME", str(tmp_path / "home"))
    folder = tmp_path / "home" / "plugins"
    for kind in ("boards", "flashers", "parsers"):
        (folder / kind).mkdir(parents=True)
    return folder


def write(path: Path, text: str) -> None:
    path.write_text(textwrap.dedent(text))


def test_built_ins_of_every_kind_are_found_with_their_origin(user_plugins: Path) -> None:
    catalog = discover()
    assert catalog.problems == []
    boards = {p.name for p in catalog.of_kind("board")}
    assert boards == {path.stem for path in (builtin_plugin_dir() / "boards").glob("*.toml")}
    assert {p.name for p in catalog.of_kind("flasher")} >= {"uf2"}
    assert {p.name for p in catalog.of_kind("parser")} >= {"arduino", "csv"}
    for plugin in catalog.plugins:
        assert plugin.origin == BUILTIN
        assert Path(plugin.source).is_relative_to(builtin_plugin_dir()), plugin.source
        assert plugin.description


def test_user_plugins_are_added_and_replace_built_ins_of_the_same_name(user_plugins: Path) -> None:
    write(user_plugins / "flashers" / "my_flasher.py", FLASHER_HEADER + GOOD_FLASHER)
    write(user_plugins / "parsers" / "my_csv.py", PARSER_HEADER + GOOD_PARSER.format(cls="MyCsv", name="csv"))
    pico = (builtin_plugin_dir() / "boards" / "raspberry_pi_pico.toml").read_text()
    (user_plugins / "boards" / "raspberry_pi_pico.toml").write_text(pico.replace("flash_kb = 2048", "flash_kb = 4096"))

    catalog = discover()
    assert catalog.problems == []
    mine = catalog.get("flasher", "mine")
    assert (mine.origin, mine.source) == (USER, str(user_plugins / "flashers" / "my_flasher.py"))
    job = FlashJob(Path("fw.bin"), load_boards().get("raspberry_pi_pico"))
    assert [str(step) for step in catalog.flasher("mine").plan(job)] == ["Run mytool: mytool fw.bin"]
    assert catalog.flasher("mine").available().missing == "mytool"

    csv = catalog.get("parser", "csv")
    assert csv.origin == USER and Path(csv.overrides).parent == builtin_plugin_dir() / "parsers"
    assert catalog.parser("csv").feed("abc", 2.0) == [Record(2.0, {"line": 3.0})]
    assert [p.name for p in catalog.of_kind("parser")].count("csv") == 1

    board = catalog.get("board", "raspberry_pi_pico")
    assert board.origin == USER and board.implementation.flash_kb == 4096
    assert board.overrides == str(builtin_plugin_dir() / "boards" / "raspberry_pi_pico.toml")


def test_a_bad_plugin_is_reported_and_skipped_and_the_rest_still_load(user_plugins: Path) -> None:
    flashers, parsers = user_plugins / "flashers", user_plugins / "parsers"
    write(flashers / "syntax.py", "def broken(:\n")
    write(flashers / "raises.py", "raise RuntimeError('no hardware here')\n")
    write(flashers / "exits.py", "import sys\nsys.exit(3)\n")
    write(flashers / "nameless.py", FLASHER_HEADER + GOOD_FLASHER.replace('name = "mine"', ""))
    write(flashers / "undescribed.py", FLASHER_HEADER + GOOD_FLASHER.replace('description = "Copies nothing"', ""))
    write(flashers / "spaced.py", FLASHER_HEADER + GOOD_FLASHER.replace('"mine"', '"my flasher"'))
    write(flashers / "no_flash.py", FLASHER_HEADER + GOOD_FLASHER.replace("def flash(self, job, task)", "def go(self)"))
    write(flashers / "no_job.py", FLASHER_HEADER + GOOD_FLASHER.replace("def plan(self, job)", "def plan(self)"))
    write(parsers / "no_time.py", PARSER_HEADER + GOOD_PARSER.format(cls="P", name="p").replace(", time)", ")"))
    write(parsers / "nothing.py", "X = 1\n")
    write(
        parsers / "init_fails.py",
        PARSER_HEADER
        + GOOD_PARSER.format(cls="P", name="p")
        + "    def __init__(self):\n        raise OSError('no port')\n",
    )
    write(parsers / "good.py", PARSER_HEADER + GOOD_PARSER.format(cls="Good", name="good"))
    write(parsers / "_helper.py", "raise RuntimeError('helpers are not loaded')\n")

    catalog = discover()
    problems = {Path(p.source).name: p.message for p in catalog.problems}
    assert all(p.origin == USER for p in catalog.problems)
    assert "could not be loaded (SyntaxError" in problems["syntax.py"]
    assert "could not be loaded (RuntimeError: no hardware here)" in problems["raises.py"]
    assert "could not be loaded (SystemExit: 3)" in problems["exits.py"]
    assert problems["nameless.py"] == "MyFlasher has no name"
    assert problems["undescribed.py"] == "MyFlasher has no description"
    assert "'my flasher' must be letters" in problems["spaced.py"]
    assert problems["no_flash.py"] == "MyFlasher does not implement flash()"
    assert problems["no_job.py"] == "MyFlasher.plan() must take (self, job)"
    assert problems["no_time.py"] == "P.feed() must take (self, line, time)"
    assert problems["nothing.py"] == "nothing.py: defines no Parser subclass"
    assert problems["init_fails.py"] == "P could not be created (OSError: no port)"
    assert "_helper.py" not in problems and len(problems) == 11
    assert {p.kind for p in catalog.problems} == {"flasher", "parser"}
    assert catalog.get("parser", "good").origin == USER
    assert {"uf2", "arduino", "csv"} <= {p.name for p in catalog.plugins}
    with pytest.raises(WorkbenchError, match="unknown flasher 'mine'") as caught:
        catalog.get("flasher", "mine")
    assert "uf2" in caught.value.hint


@pytest.fixture()
def installed_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, user_plugins: Path) -> Iterator[Path]:
    """A package installed on sys.path whose metadata declares tinyml_workbench.plugins entry points."""
    site = tmp_path / "site"
    package = site / "wbtest_vendor"
    (package / "boards").mkdir(parents=True)
    write(package / "__init__.py", "from wbtest_vendor.flashing import VendorFlasher\n")
    write(
        package / "flashing.py",
        FLASHER_HEADER + GOOD_FLASHER.replace('"mine"', '"vendor"').replace("MyFlasher", "VendorFlasher"),
    )
    write(
        package / "parsing.py",
        PARSER_HEADER
        + GOOD_PARSER.format(cls="SoloParser", name="solo")
        + "class NotAPlugin:\n    pass\ndef helper():\n    pass\n",
    )
    write(package / "empty.py", "from workbench.flash.api import Flasher\n")
    pico = (builtin_plugin_dir() / "boards" / "raspberry_pi_pico.toml").read_text()
    (package / "boards" / "vendor_board.toml").write_text(pico.replace("Raspberry Pi Pico", "Vendor Board"))
    info = site / "wbtest_vendor-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: wbtest-vendor\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[tinyml_workbench.plugins]\n"
        "vendor = wbtest_vendor\n"
        "solo = wbtest_vendor.parsing:SoloParser\n"
        "missing = wbtest_not_installed\n"
        "helper = wbtest_vendor.parsing:helper\n"
        "stranger = wbtest_vendor.parsing:NotAPlugin\n"
        "empty = wbtest_vendor.empty\n"
    )
    monkeypatch.syspath_prepend(str(site))
    yield site
    for name in [m for m in sys.modules if m.startswith("wbtest_vendor")]:
        del sys.modules[name]


def test_entry_points_name_a_module_or_a_class(installed_package: Path) -> None:
    catalog = discover()
    package = installed_package / "wbtest_vendor"
    vendor = catalog.get("flasher", "vendor")
    assert vendor.origin == ENTRY_POINT and vendor.source == "wbtest-vendor: vendor = wbtest_vendor (VendorFlasher)"
    solo = catalog.get("parser", "solo")
    assert (solo.origin, solo.source) == (ENTRY_POINT, "wbtest-vendor: solo = wbtest_vendor.parsing:SoloParser")
    board = catalog.get("board", "vendor_board")
    assert (board.origin, board.source) == (ENTRY_POINT, str(package / "boards" / "vendor_board.toml"))
    assert load_boards().get("vendor_board").origin == ENTRY_POINT
    problems = {p.source.split(":")[1].split("=")[0].strip(): p.message for p in catalog.problems}
    assert problems == {
        "missing": "could not be loaded (ModuleNotFoundError: No module named 'wbtest_not_installed')",
        "helper": "names neither a module nor a class",
        "stranger": "NotAPlugin is neither a Flasher nor a Parser",
        "empty": "holds no Flasher or Parser subclass and no boards/ folder",
    }
    assert {p.kind for p in catalog.problems} == {"plugin"}


def test_the_plugins_command_lists_kind_name_origin_and_problems(installed_package: Path, tmp_path: Path) -> None:
    home = Path(os.environ["TINYML_WORKBENCH_HOME"])
    write(home / "plugins" / "parsers" / "good.py", PARSER_HEADER + GOOD_PARSER.format(cls="Good", name="good"))
    write(home / "plugins" / "flashers" / "broken.py", "import not_a_module\n")
    paths = [str(installed_package), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
    command = [sys.executable, "-m", "workbench", "plugins"]
    listed = subprocess.run([*command, "--json"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    rows = {(p["kind"], p["name"]): p["origin"] for p in data["plugins"]}
    assert rows[("flasher", "uf2")] == BUILTIN and rows[("board", "raspberry_pi_pico")] == BUILTIN
    assert rows[("parser", "good")] == USER and rows[("flasher", "vendor")] == ENTRY_POINT
    broken = [p for p in data["problems"] if p["source"].endswith("broken.py")]
    assert broken == [
        {
            "kind": "flasher",
            "origin": USER,
            "source": str(home / "plugins" / "flashers" / "broken.py"),
            "message": "broken.py: could not be loaded (ModuleNotFoundError: No module named 'not_a_module')",
        }
    ]
    text = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert text.returncode == 0, text.stderr
    assert "parser   good" in text.stdout and "skipped 5:" in text.stdout
    assert "broken.py: could not be loaded" in text.stdout


COUNTED_FLASHER = """
import os
from pathlib import Path
from workbench.flash.api import Availability, Flasher, Step

with Path(os.environ["PLUGIN_RUNS"]).open("a") as runs:  # one line each time this file executes
    runs.write("counted\\n")

class Counted(Flasher):
    name = "counted"
    description = "Counts how often its file runs"
    def available(self): return Availability(ok=True)
    def plan(self, job): return [Step("count")]
    def flash(self, job, task): pass
"""


def test_plugin_files_execute_once_per_process_whoever_asks_and_again_on_reload(
    user_plugins: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Flashers, parsers and boards asked for by the flash service, the monitor, board lists and
    the catalog readers: the user's flasher file runs once; reload() runs it once more."""
    from workbench.flash.service import FlashRequest, plan
    from workbench.monitor.stream import MonitorStream

    runs = tmp_path / "runs.txt"
    monkeypatch.setenv("PLUGIN_RUNS", str(runs))
    write(user_plugins / "flashers" / "counted.py", COUNTED_FLASHER)
    firmware = tmp_path / "fw.uf2"
    firmware.write_bytes(b"firmware")

    def ask_everything() -> None:
        pico = load_boards().get("raspberry_pi_pico")
        assert plan(FlashRequest(firmware, pico, flasher="counted"), registry())[-1].description == "count"
        assert registry().flasher("counted").name == "counted"
        assert "csv" in {parser.name for parser in registry().parsers()}
        assert discover(kinds=("parser",)).parser("arduino").name == "arduino"
        assert discover(kinds=("flasher",)).get("flasher", "counted").origin == USER
        assert MonitorStream("/dev/null", parsers=registry().parsers(), parser="csv").port == "/dev/null"
        assert registry().boards().get("raspberry_pi_pico") == pico

    discoveries = registry().discoveries
    ask_everything()
    ask_everything()
    assert runs.read_text().splitlines() == ["counted"]
    assert registry().discoveries == discoveries + 1

    registry().reload()
    assert runs.read_text().splitlines() == ["counted"] * 2
    ask_everything()
    assert runs.read_text().splitlines() == ["counted"] * 2
    assert registry().discoveries == discoveries + 2


def test_reload_finds_plugins_added_and_drops_those_removed(user_plugins: Path) -> None:
    assert "mine" not in {p.name for p in registry().catalog().of_kind("flasher")}
    write(user_plugins / "flashers" / "my_flasher.py", FLASHER_HEADER + GOOD_FLASHER)
    write(user_plugins / "parsers" / "broken.py", "import not_a_module\n")
    assert "mine" not in {p.name for p in registry().catalog().of_kind("flasher")}, "kept until reload"

    catalog = registry().reload()
    assert catalog.get("flasher", "mine").origin == USER
    assert [Path(p.source).name for p in registry().problems()] == ["broken.py"]

    (user_plugins / "flashers" / "my_flasher.py").unlink()
    (user_plugins / "parsers" / "broken.py").unlink()
    registry().reload()
    with pytest.raises(WorkbenchError, match="unknown flasher 'mine'"):
        registry().flasher("mine")
    assert registry().problems() == []


# --- detection over the built-in parsers (the parsers themselves: tests/monitor/test_parsers.py) ---


ARDUINO_OUTPUT = ["Starting", "yes:0.91 no:0.09", "yes:0.12 no:0.88", "yes:0.95 no:0.05"]
CSV_OUTPUT = ["millis,yes,no", "100,0.91,0.09", "200,0.12,0.88", "300,0.95,0.05"]


def test_detect_picks_the_parser_for_what_the_board_prints() -> None:
    parsers = discover(kinds=("parser",)).parsers()
    assert {"arduino", "csv"} <= {p.name for p in parsers}
    assert detect(ARDUINO_OUTPUT, parsers).name == "arduino"  # type: ignore[union-attr]
    assert detect(CSV_OUTPUT, parsers).name == "csv"  # type: ignore[union-attr]
    assert detect(["Hello from the board", "Wi-Fi connected, IP 10.0.0.2"], parsers) is None


def test_detect_leaves_out_a_parser_that_fails() -> None:
    class Failing(Parser):
        name = "failing"
        description = "Always fails"

        def sniff(self, lines: list[str]) -> float:
            raise ValueError("bug")

        def feed(self, line: str, time: float) -> list[Record]:
            return []

    csv = discover(kinds=("parser",)).parser("csv")
    assert detect(CSV_OUTPUT, [Failing(), csv]) is csv
