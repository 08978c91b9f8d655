"""`make bundle`: build the app's bundles for this system, package them, smoke-test them, and report.

For each edition (full, lite):
1. PyInstaller builds dist/tinyml-workbench-EDITION/ from installers/pyinstaller/workbench.spec;
   in the full edition TensorFlow's libraries are stripped (only theirs: stripping every library
   breaks numpy's OpenBLAS).
2. Linux: a .tar.gz of the folder and a .deb (dpkg-deb) that installs it under /opt with the
   desktop entry, icons, AppStream metainfo, MIME types and the udev rules the bundle itself
   generates from the boards' USB ids. Windows and macOS: installers/windows/*.iss and
   installers/macos/make_dmg.sh take the folder from here (see installers/README.md).
3. installers/smoke.sh runs on the bundle as unpacked from its archive.
4. A table: size on disk, compressed, and cold start (the first `--version` and `boards` after
   the build) beside the source install's, measured in the same run.

Usage: python installers/build_bundle.py [--edition full|lite ...] [--out build/bundle] [--no-smoke]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench import __version__  # noqa: E402

SPEC = ROOT / "installers" / "pyinstaller" / "workbench.spec"
LINUX = ROOT / "installers" / "linux"
APP_ID = "io.github.tinyml_workbench.TinyMLWorkbench"
EXECUTABLE = "tinyml-workbench.exe" if sys.platform == "win32" else "tinyml-workbench"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
# What the bundled Qt needs from the system to draw a window (the xcb platform and OpenGL).
DEB_DEPENDS = (
    "libc6 (>= {glibc}), libgl1, libegl1, libfontconfig1, libfreetype6, libglib2.0-0, libdbus-1-3, "
    "libxkbcommon0, libxkbcommon-x11-0, libx11-xcb1, libxcb-cursor0, libxcb-icccm4, libxcb-image0, "
    "libxcb-keysyms1, libxcb-randr0, libxcb-render-util0, libxcb-shape0, libxcb-xinerama0, libxcb-xkb1"
)
DEB_DEPENDS_FULL_EXTRA = ", libnss3, libxcomposite1, libxdamage1, libxrandr2, libxtst6, libasound2, libxkbfile1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edition", action="append", choices=("full", "lite"), help="default: both")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bundle")
    parser.add_argument("--no-smoke", action="store_true", help="build and package only")
    args = parser.parse_args(argv)
    editions = args.edition or ["full", "lite"]
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    report = [_row("source install", [sys.executable, "-m", "workbench"], Path(sys.prefix), [])]
    failed = False
    for edition in editions:
        folder = build(edition, out)
        packages = package(edition, folder, out)
        unpacked = _unpack(packages[0], out / "unpacked" / edition) if packages else folder
        executable = [str(unpacked / EXECUTABLE)]
        app = app_bundle(edition, out) / "Contents" / "MacOS" / EXECUTABLE
        if app.exists():  # macOS: what the .dmg carries
            executable = [str(app)]
        report.append(_row(f"{edition} bundle", executable, folder, packages))
        if not args.no_smoke:
            # bash from the PATH (on Windows Git's, not the WSL launcher in System32)
            bash = shutil.which("bash") or "bash"
            done = subprocess.run([bash, str(ROOT / "installers" / "smoke.sh"), executable[0], edition])
            failed |= done.returncode != 0
            print(f"smoke test of the {edition} bundle: {'passed' if done.returncode == 0 else 'FAILED'}")
    print(f"\nbuilt on {_system()}; first starts after the build, in seconds:")
    print(_line(COLUMNS))
    for row in report:
        print(_line(row))
    return 1 if failed else 0


COLUMNS = ("", "on disk", ".tar.gz", ".deb", "--version", "boards", "window", "model open")
TIMED_MODEL = ROOT / "resources" / "samples" / "digits_int8.tflite"  # the same model for every row


def _line(cells: tuple[str, ...] | list[str]) -> str:
    return f"{cells[0]:16}" + "".join(f"{cell:>12}" for cell in cells[1:])


def _row(name: str, command: list[str], folder: Path, packages: list[Path]) -> list[str]:
    """One line of the report: sizes, then the start of the CLI and of the GUI."""
    sizes = {p.name.rpartition("-linux-")[2].partition(".")[2]: _mb(p.stat().st_size) for p in packages}
    return [
        name,
        _mb(_tree_bytes(folder)),
        sizes.get("tar.gz", "-"),
        sizes.get("deb", "-"),
        *_cli_start(command),
        *_gui_start(command),
    ]


def build(edition: str, out: Path) -> Path:
    """Run PyInstaller for `edition`; returns the bundle's folder."""
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            str(out / "dist"),
            "--workpath",
            str(out / "work" / edition),
            str(SPEC),
        ],
        check=True,
        env={**os.environ, "WORKBENCH_EDITION": edition},
    )
    folder = out / "dist" / f"tinyml-workbench-{edition}"
    if edition == "full" and sys.platform != "win32":
        _strip(folder / "_internal" / "tensorflow")
        _strip(app_bundle(edition, out) / "Contents" / "Frameworks" / "tensorflow")  # macOS: the .app's copy
    print(f"built the {edition} bundle in {time.monotonic() - started:.0f} s: {folder}")
    return folder


def app_bundle(edition: str, out: Path) -> Path:
    """The macOS .app of `edition` (the spec's BUNDLE step; absent elsewhere)."""
    return out / "dist" / f"TinyML Workbench{' Lite' if edition == 'lite' else ''}.app"


def _strip(folder: Path) -> None:
    """Strip the shared libraries under `folder` (their symbols are half of TensorFlow's size)."""
    strip = shutil.which("strip")
    if strip is None or not folder.is_dir():
        return
    command = [strip, "-x"] if sys.platform == "darwin" else [strip, "--strip-unneeded"]
    libraries = [
        p for p in folder.rglob("*") if p.is_file() and not p.is_symlink() and (".so" in p.name or p.suffix == ".dylib")
    ]
    for library in libraries:
        subprocess.run([*command, str(library)], check=False, capture_output=True)


def package(edition: str, folder: Path, out: Path) -> list[Path]:
    """The archives of the bundle for this system: on Linux a .tar.gz and a .deb."""
    if not sys.platform.startswith("linux"):
        return []  # Windows: Inno Setup; macOS: the .dmg script (both in installers/, run by the CI workflow)
    machine = platform.machine()
    stem = f"tinyml-workbench-{edition}-{__version__}-linux-{machine}"
    archive = out / f"{stem}.tar.gz"
    partial = archive.with_name(archive.name + ".partial")
    with tarfile.open(partial, "w:gz", compresslevel=6) as tar:  # 9 takes twice as long for 1% less
        tar.add(folder, arcname=stem)
    partial.replace(archive)
    deb = out / f"{stem}.deb"
    _deb(edition, folder, deb)
    return [archive, deb]


def _deb(edition: str, folder: Path, deb: Path) -> None:
    """A .deb of the bundle: /opt/tinyml-workbench-EDITION, /usr/bin/tinyml-workbench and the desktop files."""
    name = f"tinyml-workbench-{edition}"
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp) / "root"
        opt = root / "opt" / name
        shutil.copytree(folder, opt, symlinks=True)
        (root / "usr" / "bin").mkdir(parents=True)
        (root / "usr" / "bin" / "tinyml-workbench").symlink_to(f"/opt/{name}/{EXECUTABLE}")
        share = root / "usr" / "share"
        _install(LINUX / f"{APP_ID}.desktop", share / "applications")
        _install(LINUX / f"{APP_ID}.metainfo.xml", share / "metainfo")
        _install(LINUX / "tinyml-workbench-mime.xml", share / "mime" / "packages")
        icons = ROOT / "resources" / "icons"
        for size in ICON_SIZES:
            _install(
                icons / f"tinyml-workbench-{size}.png",
                share / "icons" / "hicolor" / f"{size}x{size}" / "apps",
                "tinyml-workbench.png",
            )
        _install(icons / "tinyml-workbench.svg", share / "icons" / "hicolor" / "scalable" / "apps")
        rules = root / "usr" / "lib" / "udev" / "rules.d"
        rules.mkdir(parents=True)
        subprocess.run(
            [str(folder / EXECUTABLE), "udev-rules", "-o", str(rules / "60-tinyml-workbench.rules")],
            check=True,
            capture_output=True,
        )
        debian = root / "DEBIAN"
        debian.mkdir()
        other = "tinyml-workbench-lite" if edition == "full" else "tinyml-workbench-full"
        depends = DEB_DEPENDS.format(glibc=_glibc() or "2.31") + (DEB_DEPENDS_FULL_EXTRA if edition == "full" else "")
        installed_kb = _tree_bytes(root) // 1024
        (debian / "control").write_text(
            f"Package: {name}\nVersion: {__version__}\nArchitecture: {_deb_arch()}\n"
            f"Maintainer: TinyML Workbench <tinyml-workbench@users.noreply.github.com>\n"
            f"Installed-Size: {installed_kb}\nDepends: {depends}\nProvides: tinyml-workbench\n"
            f"Conflicts: {other}\nReplaces: {other}\nSection: electronics\nPriority: optional\n"
            f"Homepage: https://github.com/tinyml-workbench/tinyml-workbench\n"
            f"Description: take a trained neural network to a microcontroller without writing code\n"
            f" Inspect a TensorFlow Lite or Keras model, optimize it, deploy it to a board and monitor\n"
            f" its predictions live. This is the {edition} edition"
            f"{' (TensorFlow included)' if edition == 'full' else ' (.tflite models, no TensorFlow)'}.\n"
        )
        for script in ("postinst", "postrm"):
            path = debian / script
            path.write_text(
                "#!/bin/sh\nset -e\n"
                "command -v update-mime-database >/dev/null && update-mime-database /usr/share/mime || true\n"
                "command -v update-desktop-database >/dev/null && update-desktop-database -q /usr/share/applications || true\n"
                "command -v udevadm >/dev/null && udevadm control --reload-rules 2>/dev/null || true\n"
            )
            path.chmod(0o755)
        partial = deb.with_name(deb.name + ".partial")
        # zstd -10: as small as xz -1 (TensorFlow's library: 255 MB against xz's 250 MB and gzip's 338 MB)
        # in a fifth of the time; every dpkg that can run this bundle (glibc 2.36+) reads it.
        subprocess.run(
            ["dpkg-deb", "--root-owner-group", "-Zzstd", "-z10", "--build", str(root), str(partial)],
            check=True,
            capture_output=True,
        )
        partial.replace(deb)


def _install(source: Path, folder: Path, name: str | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, folder / (name or source.name))


def _unpack(archive: Path, where: Path) -> Path:
    """The bundle as a user gets it from `archive` (a .tar.gz); returns its folder."""
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        try:
            tar.extractall(where, filter="tar")
        except TypeError:  # a Python before 3.10.12 / 3.11.4: no filters, and the archive is our own
            tar.extractall(where)  # noqa: S202
    return next(where.iterdir())


def _cli_start(command: list[str]) -> tuple[str, str]:
    """Seconds to the end of `--version` and of `boards`."""
    figures = []
    for arguments in (["--version"], ["boards"]):
        started = time.monotonic()
        subprocess.run([*command, *arguments], capture_output=True, check=False, timeout=300)
        figures.append(f"{time.monotonic() - started:.2f}")
    return figures[0], figures[1]


def _gui_start(command: list[str]) -> tuple[str, str]:
    """Seconds until the GUI (offscreen, in a fresh user folder) logs that its window is shown and
    that TIMED_MODEL is open."""
    marks = ("the window is shown", "opened ")
    with tempfile.TemporaryDirectory() as home:
        log = Path(home) / "workbench.log"
        env = {**os.environ, "TINYML_WORKBENCH_HOME": home, "QT_QPA_PLATFORM": "offscreen"}
        started = time.monotonic()
        app = subprocess.Popen(
            [*command, "gui", str(TIMED_MODEL)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        seen: dict[str, float] = {}
        try:
            while len(seen) < len(marks) and time.monotonic() - started < 180 and app.poll() is None:
                text = log.read_text(errors="replace") if log.exists() else ""
                for mark in marks:
                    if mark in text and mark not in seen:
                        seen[mark] = time.monotonic() - started
                time.sleep(0.05)
        finally:
            app.terminate()
            try:
                app.wait(timeout=20)
            except subprocess.TimeoutExpired:
                app.kill()
    return tuple(f"{seen[m]:.1f}" if m in seen else "-" for m in marks)  # type: ignore[return-value]


def _tree_bytes(folder: Path) -> int:
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _mb(size: int) -> str:
    return f"{size / 1e6:.0f} MB"


def _glibc() -> str:
    name, version = platform.libc_ver()
    return version if name == "glibc" else ""


def _deb_arch() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armhf"}.get(platform.machine(), platform.machine())


def _system() -> str:
    libc = f", glibc {_glibc()}" if _glibc() else ""
    try:
        pretty = next(
            line.split("=", 1)[1].strip().strip('"')
            for line in Path("/etc/os-release").read_text().splitlines()
            if line.startswith("PRETTY_NAME=")
        )
    except (OSError, StopIteration):
        pretty = platform.platform()
    return f"{pretty}{libc}, {platform.machine()}, Python {platform.python_version()}"


if __name__ == "__main__":
    raise SystemExit(main())
