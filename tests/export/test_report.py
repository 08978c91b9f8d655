"""The HTML report: one page that asks for nothing outside itself, shows the analysis' own
figures, the board fit's verdict and the optimization, and escapes every name from the model."""

from __future__ import annotations

import copy
import dataclasses
import html
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest

from workbench.core.boards import Board, board_from_toml
from workbench.core.fit import analysis_fit
from workbench.export import report
from workbench.export.api import DeployModel, ExportOptions
from workbench.tasks import Task

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "resources" / "samples"
NANO = ROOT / "plugins" / "boards" / "arduino_nano33_ble_sense.toml"
# Attributes through which a page can ask for something (a resource, a navigation, a form post).
URL_ATTRIBUTES = {"src", "href", "xlink:href", "action", "formaction", "poster", "data", "srcset", "background"}


class PageParts(HTMLParser):
    """Tags, every URL-bearing attribute value and every url(...) in styles of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.urls: list[str] = []
        self.text: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_style = tag == "style"
        for name, value in attrs:
            if value is None:
                continue
            if name in URL_ATTRIBUTES:
                self.urls.append(value)
            if name == "style":
                self.urls += re.findall(r"url\(\s*['\"]?([^'\")]*)", value)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._in_style = False

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls += re.findall(r"url\(\s*['\"]?([^'\")]*)", data)
            self.urls += re.findall(r"@import\s+['\"]?([^'\";]*)", data)
        else:
            self.text.append(data)


def parse(page: str) -> PageParts:
    parts = PageParts()
    parts.feed(page)
    parts.close()
    return parts


@pytest.fixture(scope="module")
def person(deploy_model_factory: Callable[..., DeployModel]) -> DeployModel:
    return deploy_model_factory("person_detect")


@pytest.fixture(scope="module")
def digits(deploy_model_factory: Callable[..., DeployModel]) -> DeployModel:
    return deploy_model_factory("digits_int8")


@pytest.fixture(scope="module")
def nano() -> Board:
    return board_from_toml(NANO)


def test_report_asks_for_nothing_outside_the_page(person: DeployModel, nano: Board) -> None:
    """Every src/href/url( is an #anchor or a data: URI; no script, stylesheet link or frame."""
    page = report.report_html(person, nano)
    parts = parse(page)
    assert parts.urls, "the page has its section links at least"
    outside = [url for url in parts.urls if not (url.startswith("#") or url.startswith("data:"))]
    assert outside == []
    assert not {"script", "link", "iframe", "object", "embed", "img"} & set(parts.tags)
    assert "svg" in parts.tags, "the charts are inline SVG"
    anchors = {url[1:] for url in parts.urls if url.startswith("#")}
    assert anchors <= set(re.findall(r'id="([^"]+)"', page)), "every section link leads to a section"


def test_report_shows_the_figures_of_the_analysis(person: DeployModel) -> None:
    analysis = person.analysis
    page = report.report_html(person)
    assert f"{analysis.size_bytes:,} bytes" in page
    assert f"{analysis.totals.macs:,}" in page
    assert f"{analysis.totals.params:,}" in page
    assert f"{analysis.totals.weight_bytes:,}" in page
    for value in analysis.flash_breakdown.values():
        assert f">{value:,}<" in page, f"flash breakdown figure {value:,} missing"
    rows = re.findall(r"<tr><td>(\d+)</td><td>([A-Z_0-9]+)</td><td>([^<]*)</td>", page)
    assert [(int(i), op, html.unescape(name)) for i, op, name in rows] == [
        (layer.index, layer.op, layer.name) for layer in analysis.layers
    ], "one row per operator, in execution order"
    for layer in analysis.layers:
        assert f"<td class='num'>{layer.macs:,}</td>" in page
    assert "not measured" in page, "without TFLM's measurement the arena is said to be unknown"
    assert 'id="fit"' not in page, "no fit section without a board"


def test_report_escapes_every_name_from_the_model(digits: DeployModel) -> None:
    analysis = copy.deepcopy(digits.analysis)
    hostile = '<script>alert("x")</script> & <b>'
    analysis.layers[0].name = hostile
    analysis.inputs[0].name = hostile
    analysis.notes.append(hostile)
    model = dataclasses.replace(
        digits,
        analysis=analysis,
        name="digits<i>",
        origin=hostile,
        optimization=hostile,
        accuracy=hostile,
        labels=(hostile, *digits.labels[1:]),
    )
    page = report.report_html(model)
    parts = parse(page)
    assert "script" not in parts.tags and "b" not in parts.tags and "i" not in parts.tags
    assert "<script>" not in page
    assert html.escape(hostile, quote=True) in page
    assert sum(hostile in text for text in parts.text) >= 6, "each name reads back as it was"


def test_report_gives_the_board_fit_and_its_verdict(person: DeployModel, nano: Board) -> None:
    fit = analysis_fit(person.analysis, nano)
    page = report.report_html(person, nano)
    assert 'id="fit"' in page
    assert html.escape(fit.verdict) in page
    assert html.escape(fit.headroom) in page
    assert f"{fit.flash_used_pct:.1f}%" in page
    assert f"{fit.flash_bytes:,} of {fit.flash_capacity_bytes:,} bytes" in page


def test_report_gives_the_optimization_its_accuracy_and_the_figures_before_and_after(
    digits: DeployModel, deploy_model_factory: Callable[..., DeployModel]
) -> None:
    reference = deploy_model_factory(SAMPLES / "digits_float.tflite").analysis
    model = dataclasses.replace(
        digits,
        optimization="Full integer (int8)",
        accuracy="97.3% (it changed by -0.2 percentage points)",
        reference=reference,
    )
    page = report.report_html(model)
    assert "Full integer (int8)" in page
    assert "97.3% (it changed by -0.2 percentage points)" in page
    for before, after in (
        (reference.size_bytes, digits.analysis.size_bytes),
        (reference.totals.macs, digits.analysis.totals.macs),
        (reference.totals.weight_bytes, digits.analysis.totals.weight_bytes),
    ):
        assert f"<td class='num'>{before:,}</td><td class='num'>{after:,}</td>" in page
    change = 100.0 * (digits.analysis.size_bytes - reference.size_bytes) / reference.size_bytes
    assert f"{change:+.1f}%" in page


def test_write_puts_one_page_in_the_folder(digits: DeployModel, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    notes = report.write(digits, ExportOptions("report", out), out, Task())
    assert [p.name for p in out.iterdir()] == ["digits_int8_report.html"]
    assert (out / "digits_int8_report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert any("no network" in note for note in notes)


@pytest.mark.slow
def test_report_shows_the_arena_tflm_measured_and_the_ram_fit(
    nano: Board, deploy_model_factory: Callable[..., DeployModel]
) -> None:
    """hello_world, measured by TFLM in a child process: the arena figure and the RAM share."""
    model = deploy_model_factory("hello_world_int8", measure=True)
    tflm = model.analysis.tflm
    assert tflm is not None and tflm.arena_bytes
    page = report.report_html(model, nano)
    assert f"{tflm.arena_bytes:,} bytes" in page
    assert f"{tflm.recommended_arena_bytes:,} bytes" in page
    fit = analysis_fit(model.analysis, nano)
    assert fit.ram_used_pct is not None
    assert f"{fit.ram_bytes:,} of {fit.ram_capacity_bytes:,} bytes" in page
    assert html.escape(fit.verdict) in page and fit.verdict.startswith("Fits on")
    assert "Pre-flight: every operator prepares and runs on TFLM." in page
