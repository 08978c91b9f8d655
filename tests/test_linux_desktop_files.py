"""The Linux desktop files (installers/linux): the desktop entry, the AppStream metainfo and the
MIME type pass the freedesktop tools' own checks, the MIME rule recognises real .tflite files
(TFLM's and the sample) and nothing else, and the ids agree with the app's and its icon ships."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from workbench.ui.app import DESKTOP_ID

ROOT = Path(__file__).resolve().parents[1]
LINUX = ROOT / "installers" / "linux"
SHARED_MODELS = ROOT.parent / "shared" / "models"
MIME = "{http://www.freedesktop.org/standards/shared-mime-info}"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (.ci/run installs it)")
    return found


def test_the_desktop_entry_and_the_metainfo_pass_their_validators() -> None:
    desktop = LINUX / f"{DESKTOP_ID}.desktop"
    metainfo = LINUX / f"{DESKTOP_ID}.metainfo.xml"
    checked = subprocess.run([_tool("desktop-file-validate"), str(desktop)], capture_output=True, text=True)
    assert checked.returncode == 0 and "error" not in checked.stdout, checked.stdout
    validated = subprocess.run(
        [_tool("appstreamcli"), "validate", "--no-net", str(metainfo)], capture_output=True, text=True
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr
    entry = dict(line.split("=", 1) for line in desktop.read_text().splitlines() if "=" in line)
    assert (ROOT / "resources" / "icons" / f"{entry['Icon']}.svg").is_file()
    assert entry["Exec"].split()[0] == "tinyml-workbench"
    component = ElementTree.parse(metainfo).getroot()
    assert component.findtext("id") == DESKTOP_ID
    assert component.findtext("launchable") == desktop.name


def test_the_mime_type_installs_and_its_magic_matches_real_models_only(tmp_path: Path) -> None:
    packages = tmp_path / "mime" / "packages"
    packages.mkdir(parents=True)
    shutil.copy(LINUX / "tinyml-workbench-mime.xml", packages)
    done = subprocess.run([_tool("update-mime-database"), str(tmp_path / "mime")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    globs = (tmp_path / "mime" / "globs2").read_text()
    assert "application/x-tflite:*.tflite" in globs
    assert "application/x-tinyml-workbench-project:*.tmlw" in globs

    rule = (
        ElementTree.parse(LINUX / "tinyml-workbench-mime.xml")
        .getroot()
        .find(f"{MIME}mime-type/{MIME}magic/{MIME}match")
    )
    assert rule is not None
    offset, value = int(rule.get("offset", "0")), rule.get("value", "").encode()

    def matches(path: Path) -> bool:
        return path.read_bytes()[offset : offset + len(value)] == value

    models = sorted(SHARED_MODELS.glob("*.tflite")) + sorted((ROOT / "resources" / "samples").glob("*.tflite"))
    assert len(models) >= 5 and all(matches(model) for model in models)
    others = [ROOT / "resources" / "samples" / "digits.keras", ROOT / "pyproject.toml"]
    assert not any(matches(other) for other in others)
