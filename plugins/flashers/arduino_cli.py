"""arduino-cli: compile an exported Arduino sketch for the board's FQBN and upload it.

Runs `arduino-cli compile --fqbn FQBN SKETCH` then `arduino-cli upload [-p PORT] --fqbn FQBN [--verify] SKETCH`
(https://arduino.github.io/arduino-cli/latest/commands/arduino-cli_upload/). The upload finds the
compiled files in the sketch's default build folder, where compile left them. `--verify` asks
the core's upload tool to read the flash back where that tool can (BOSSA, avrdude); the core
decides. The upload tool's own output is the progress (see workbench.flash.tool_progress).

What can be flashed:
- a sketch folder (holding `<folder name>.ino`), or its .ino file;
- an exported Arduino library, as a .zip or unpacked (a folder with library.properties): its
  first example sketch (examples/<name>/<name>.ino, in name order) is compiled with
  `--library <the library>`. Nothing is installed: a zip is unpacked into the workbench's own
  folder (<workbench home>/flash/arduino/<zip name>), replaced on each flash, and the user's
  sketchbook and arduino-cli configuration are left alone (installing a zip would need
  `library.enable_unsafe_install` set and would stay in the sketchbook);
- an already built .bin/.hex/.elf/.uf2, uploaded as is with `--input-file`.

Not done here: installing the board's core (`arduino-cli core install <vendor>:<arch>`) or the
libraries the exported library depends on (its `depends=`, e.g. the TensorFlow Lite Micro port:
`arduino-cli lib install <name>`); the plan names both commands, and a compile that fails for
want of them says which to run.
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from workbench.core.errors import WorkbenchError
from workbench.flash.api import Availability, Flasher, FlashJob, Step
from workbench.flash.tool_failures import arduino_core_install, run_tool
from workbench.flash.tool_progress import COMPILE_SPANS, UPLOAD_SPANS, arduino_compile_reading, uploader_reading
from workbench.paths import user_home
from workbench.tasks import Task

PROGRAM = "arduino-cli"
BINARIES = (".bin", ".hex", ".elf", ".uf2")
INSTALL_HINT = (
    "Install arduino-cli (https://arduino.github.io/arduino-cli/latest/installation/, or your distribution's "
    "package) and put it on the PATH. If the board's core is missing, the first build names the one to install."
)


@dataclass(frozen=True)
class Sketch:
    """What gets compiled: the sketch folder, the library passed with --library (or None), the
    libraries that library depends on (library.properties `depends=`), and, for a zip, the zip
    and the folder it is unpacked into."""

    folder: Path
    library: Path | None = None
    archive: Path | None = None
    unpacked: Path | None = None
    depends: tuple[str, ...] = ()


def staging_folder(archive: Path) -> Path:
    """Where a library zip is unpacked to be compiled: the same place for the same zip name."""
    return user_home() / "flash" / "arduino" / archive.stem


def _example_in(names: list[PurePosixPath], library: PurePosixPath) -> PurePosixPath | None:
    """The first example sketch folder of `library` among `names` (paths relative to one root)."""
    examples = sorted(
        name.parent
        for name in names
        if name.suffix == ".ino" and name.stem == name.parent.name and library / "examples" in name.parents
    )
    return examples[0] if examples else None


def _library_root(names: list[PurePosixPath]) -> PurePosixPath:
    """The library's folder inside an archive: where library.properties is, else the single top folder."""
    properties = sorted((n for n in names if n.name == "library.properties"), key=lambda n: len(n.parts))
    if properties:
        return properties[0].parent
    tops = {n.parts[0] for n in names if len(n.parts) > 1}
    return PurePosixPath(tops.pop()) if len(tops) == 1 else PurePosixPath(".")


def _zip_names(archive: Path) -> list[PurePosixPath]:
    try:
        with zipfile.ZipFile(archive) as zipped:
            raw = [info.filename for info in zipped.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError) as error:
        raise WorkbenchError(f"{archive}: not a readable .zip ({error})") from None
    names = [PurePosixPath(name) for name in raw]
    for name in names:
        if name.is_absolute() or ".." in name.parts or ":" in name.parts[0]:
            raise WorkbenchError(f"{archive}: refused, it holds a file outside its own folder ({name})")
    return names


def depends(properties: str) -> tuple[str, ...]:
    """The library names in a library.properties `depends=` line ("Name (>=1.0)" gives "Name")."""
    for line in properties.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "depends":
            return tuple(name.split("(")[0].strip() for name in value.split(",") if name.split("(")[0].strip())
    return ()


def _zip_text(archive: Path, name: PurePosixPath) -> str:
    with zipfile.ZipFile(archive) as zipped:
        return zipped.read(name.as_posix()).decode("utf-8", errors="replace")


def _no_example(what: Path) -> WorkbenchError:
    return WorkbenchError(
        f"{what}: the Arduino library has no example sketch to upload",
        "An example (examples/<name>/<name>.ino) is what runs on the board: export the library again, or "
        "write a sketch that uses it and flash the sketch's folder.",
    )


def find_sketch(firmware: Path) -> Sketch:
    """What `firmware` compiles as; WorkbenchError when it is not a sketch, library or zip."""
    if firmware.suffix.lower() == ".zip":
        names = _zip_names(firmware)
        library = _library_root(names)
        example = _example_in(names, library)
        if example is None:
            raise _no_example(firmware)
        unpacked = staging_folder(firmware)
        properties = library / "library.properties"
        needs = depends(_zip_text(firmware, properties)) if properties in names else ()
        return Sketch(unpacked / example, unpacked / library, firmware, unpacked, needs)
    if firmware.suffix.lower() in (".ino", ".pde"):
        firmware = firmware.parent
    if not firmware.is_dir():
        raise WorkbenchError(
            f"{firmware}: arduino-cli flashes a sketch folder, an Arduino library (.zip) or a built "
            f"{'/'.join(BINARIES)} file",
            "Export the model as an Arduino library, or give the sketch's folder.",
        )
    if (firmware / "library.properties").is_file():
        names = [PurePosixPath(p.relative_to(firmware).as_posix()) for p in firmware.rglob("*.ino")]
        example = _example_in(names, PurePosixPath("."))
        if example is None:
            raise _no_example(firmware)
        needs = depends((firmware / "library.properties").read_text(encoding="utf-8", errors="replace"))
        return Sketch(firmware / example, firmware, depends=needs)
    main = [firmware / f"{firmware.name}{suffix}" for suffix in (".ino", ".pde")]
    if any(path.is_file() for path in main):
        return Sketch(firmware)
    others = sorted(firmware.glob("*.ino"))
    if others:
        raise WorkbenchError(
            f"{firmware}: the sketch's main file must be named {firmware.name}.ino (found {others[0].name})",
            "Rename the file or the folder so that they match, as the Arduino tools require.",
        )
    raise WorkbenchError(f"{firmware}: no Arduino sketch here (no {firmware.name}.ino)")


def unpack(sketch: Sketch) -> None:
    """Unpack the sketch's zip into its staging folder, replacing what an earlier flash left."""
    if sketch.archive is None or sketch.unpacked is None:
        return
    shutil.rmtree(sketch.unpacked, ignore_errors=True)
    sketch.unpacked.mkdir(parents=True)
    with zipfile.ZipFile(sketch.archive) as zipped:
        zipped.extractall(sketch.unpacked)  # names were checked by find_sketch()


def _program() -> str:
    return shutil.which(PROGRAM) or PROGRAM


def _platform(fqbn: str) -> str:
    return ":".join(fqbn.split(":")[:2])


def lib_install(names: tuple[str, ...]) -> str:
    """The arduino-cli command that installs libraries from the Library Manager."""
    return "arduino-cli lib install " + " ".join(f'"{name}"' if " " in name else name for name in names)


class ArduinoCliFlasher(Flasher):
    name = "arduino-cli"
    description = (
        "Compile an exported Arduino sketch or library example for the board's FQBN and upload it with arduino-cli"
    )

    compile_timeout_s = 1800.0  # a core's first build compiles the whole core
    upload_timeout_s = 600.0

    def available(self) -> Availability:
        if shutil.which(PROGRAM):
            return Availability(ok=True)
        return Availability(ok=False, missing="arduino-cli is not installed (not found on the PATH)", hint=INSTALL_HINT)

    def _fqbn(self, job: FlashJob) -> str:
        fqbn = job.board.fqbn.strip()
        if fqbn.count(":") < 2:
            raise WorkbenchError(
                f"{job.board.name} has no Arduino board name (fqbn under [flash] in its board file)",
                'Add it, e.g. fqbn = "arduino:mbed_nano:nano33ble"; `arduino-cli board listall` lists them.',
            )
        return fqbn

    def commands(self, job: FlashJob) -> tuple[Sketch | None, tuple[str, ...] | None, tuple[str, ...]]:
        """(sketch, compile command, upload command) for `job`; no sketch nor compile for a built file."""
        fqbn = self._fqbn(job)
        port = ("-p", job.port) if job.port else ()
        verify = ("--verify",) if job.verify else ()
        if job.firmware.suffix.lower() in BINARIES:
            upload = (_program(), "upload", *port, "--fqbn", fqbn, *verify, "--input-file", str(job.firmware))
            return None, None, upload
        sketch = find_sketch(job.firmware)
        library = ("--library", str(sketch.library)) if sketch.library else ()
        compile_ = (_program(), "compile", "--fqbn", fqbn, *library, str(sketch.folder))
        upload = (_program(), "upload", *port, "--fqbn", fqbn, *verify, str(sketch.folder))
        return sketch, compile_, upload

    def plan(self, job: FlashJob) -> list[Step]:
        sketch, compile_, upload = self.commands(job)
        fqbn = self._fqbn(job)
        steps = []
        if sketch is not None and sketch.archive is not None:
            steps.append(
                Step(
                    f"Unpack {sketch.archive.name} into {sketch.unpacked} (nothing is installed); its example "
                    f"{sketch.folder.name} is the sketch, compiled with the library"
                )
            )
        if compile_ is not None and sketch is not None:
            needs = f"the core {_platform(fqbn)} (`{arduino_core_install(_platform(fqbn))}`)"
            if sketch.depends:
                needs += f" and {', '.join(sketch.depends)} (`{lib_install(sketch.depends)}`)"
            steps.append(Step(f"Compile {sketch.folder.name} for {job.board.name} ({fqbn}); needs {needs}", compile_))
        where = f" on {job.port}" if job.port else ""
        checked = ", verifying it where the core's upload tool can" if job.verify else ""
        steps.append(Step(f"Upload it to {job.board.name}{where}{checked}", upload))
        return steps

    def flash(self, job: FlashJob, task: Task) -> None:
        sketch, compile_, upload = self.commands(job)
        fqbn = self._fqbn(job)
        upload_task = task
        if sketch is not None and compile_ is not None:
            unpack(sketch)
            compiling = task.span(0.0, 0.5)
            compiling.progress(0.0, f"Compiling {sketch.folder.name} for {fqbn}")
            try:
                run_tool(
                    compile_,
                    compiling,
                    tool=PROGRAM,
                    what=f"Compiling {sketch.folder.name} for {job.board.name}",
                    reader=arduino_compile_reading,
                    spans=COMPILE_SPANS,
                    timeout_s=self.compile_timeout_s,
                    install_hint=INSTALL_HINT,
                    fqbn=fqbn,
                )
            except WorkbenchError as error:
                if not sketch.depends or "did not compile" not in error.message:
                    raise
                needed = f"The library needs {', '.join(sketch.depends)}: `{lib_install(sketch.depends)}` installs it."
                raise WorkbenchError(error.message, f"{needed} {error.hint}", error.details) from None
            upload_task = task.span(0.5, 1.0)
        elif not job.firmware.is_file():
            raise WorkbenchError(f"{job.firmware}: no such file")
        upload_task.progress(0.0, f"Uploading to {job.board.name}")
        run_tool(
            upload,
            upload_task,
            tool=PROGRAM,
            what=f"Uploading to {job.board.name}",
            reader=uploader_reading,
            spans=UPLOAD_SPANS,
            timeout_s=self.upload_timeout_s,
            install_hint=INSTALL_HINT,
            port=job.port,
            fqbn=fqbn,
        )
        task.progress(1.0, f"Uploaded to {job.board.name}")
