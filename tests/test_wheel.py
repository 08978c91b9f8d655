"""A wheel is the whole app: built-in plugins, the sample and the theme travel inside the package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.conftest import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
SHIPPED = {"plugins": "workbench.shipped.plugins", "resources": "workbench.shipped.resources"}
SHOW_SHIPPED = (
    "import json, workbench, workbench.shipped as s; from importlib.resources import files\n"
    "print(json.dumps({'package': workbench.__file__, 'plugins': str(s.builtin_plugin_dir()),\n"
    "  'sample': str(s.sample_model()), 'sample_found': s.sample_model().is_file(),\n"
    "  'theme': str(s.theme_path()), 'theme_found': s.theme_path().is_file(),\n"
    "  'icons': sorted(p.name for p in (s.resources_dir() / 'icons').iterdir()),\n"
    "  'mapped': str(files('workbench.shipped.plugins'))}))\n"
)


def test_every_package_is_listed_for_the_wheel() -> None:
    """pyproject lists packages by hand (mapped folders cannot be discovered): none may be missing."""
    on_disk = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "workbench").rglob("__init__.py")} | {
        package for folder, package in SHIPPED.items() if (ROOT / folder / "__init__.py").is_file()
    }
    missing = sorted(on_disk - set(SETUPTOOLS["packages"]))
    assert not missing, f"add {missing} to [tool.setuptools] packages in pyproject.toml"
    assert SETUPTOOLS["package-dir"] == {package: folder for folder, package in SHIPPED.items()}


def test_the_installed_app_reads_the_shipped_folders_of_this_source_tree(tmp_path: Path) -> None:
    """From outside the source tree, the (editable) install maps the shipped packages onto plugins/ and resources/."""
    done = subprocess.run(
        [sys.executable, "-c", SHOW_SHIPPED], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert done.returncode == 0, f"{done.stderr[-2000:]}\n(reinstall after changing pyproject: pip install -e .)"
    shown = json.loads(done.stdout)
    assert Path(shown["package"]).parent == ROOT / "workbench", "the tests expect `pip install -e .` of this tree"
    assert Path(shown["mapped"]) == Path(shown["plugins"]) == ROOT / "plugins"
    assert Path(shown["sample"]).is_relative_to(ROOT / "resources") and shown["sample_found"]
    assert Path(shown["theme"]).is_relative_to(ROOT / "resources") and shown["theme_found"]


def _build_isolation_needed() -> bool:
    """Whether this environment lacks what pyproject's [build-system] requires (then pip fetches it)."""
    for text in PYPROJECT["build-system"]["requires"]:
        requirement = Requirement(text)
        try:
            if not requirement.specifier.contains(metadata.version(requirement.name), prereleases=True):
                return True
        except metadata.PackageNotFoundError:
            return True
    return False


@pytest.mark.slow
def test_a_wheel_built_from_the_tree_carries_the_whole_app(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy, so the build leaves no build/ or egg-info in the shared tree
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for name in ("workbench", "plugins", "resources"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    isolation = [] if _build_isolation_needed() else ["--no-build-isolation"]
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    built = subprocess.run(
        [*pip, "wheel", "--no-deps", *isolation, "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("tinyml_workbench-*.whl")
    target = tmp_path / "target"
    installed = subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(target), str(wheel)], capture_output=True, text=True, timeout=300
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    top_level = {p.name for p in target.iterdir()}
    assert "workbench" in top_level and not {"plugins", "resources"} & top_level, "nothing spread over site-packages"

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = dict(os.environ, PYTHONPATH=str(target), TINYML_WORKBENCH_HOME=str(tmp_path / "home"))

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, *args], capture_output=True, text=True, cwd=elsewhere, env=env, timeout=120
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    boards = json.loads(run("-m", "workbench", "boards", "--json"))
    assert len(boards) == len(list((ROOT / "plugins" / "boards").glob("*.toml")))
    assert all(Path(b["source"]).is_relative_to(target) and b["origin"] == "built-in" for b in boards)

    listed = json.loads(run("-m", "workbench", "plugins", "--json"))
    assert listed["problems"] == []
    assert {p["kind"] for p in listed["plugins"]} == {"board", "flasher", "parser"}
    assert all(Path(p["source"]).is_relative_to(target) for p in listed["plugins"])

    shown = json.loads(run("-c", SHOW_SHIPPED))
    assert Path(shown["package"]).is_relative_to(target)
    assert Path(shown["mapped"]) == Path(shown["plugins"]) == target / "workbench" / "shipped" / "plugins"
    assert Path(shown["sample"]).is_relative_to(target) and shown["sample_found"]
    assert Path(shown["theme"]).is_relative_to(target) and shown["theme_found"]
    assert "tinyml-workbench.svg" in shown["icons"] and "tinyml-workbench-256.png" in shown["icons"]

    # Export reads its templates from the package: a project written from the wheel is whole.
    project = tmp_path / "project"
    run(
        "-m",
        "workbench",
        "export",
        shown["sample"],
        "--format",
        "platformio",
        "--board",
        "raspberry_pi_pico",
        "-o",
        str(project),
        "--no-tflm",
    )
    assert {"platformio.ini", "src"} <= {p.name for p in project.iterdir()}
    assert (project / "src" / "main.cpp").stat().st_size > 0 and (project / "src" / "model_data.h").is_file()
