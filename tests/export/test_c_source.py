"""The C source export: files that compile anywhere, carry the model byte for byte, and say
what firmware needs (shapes, quantization, labels, arena, the operators to register)."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.export.conftest import MODEL_PATHS, Compiler, DeployModelFactory, one_op_model, while_loop_model
from workbench.core.arena import estimate_arena_bytes
from workbench.core.errors import WorkbenchError
from workbench.core.tflite_file import parse_tflite, tensor_bytes
from workbench.export import api
from workbench.export.api import DeployModel, ExportOptions
from workbench.export.c_source import tensor_arena_size, write, write_model_files
from workbench.export.op_resolver import BUILTIN_METHODS
from workbench.tasks import Task

# Writes g_model[0..g_model_len) to the file named by argv[1]; prints the array's alignment.
# The same text is a C and a C++ program.
DUMP_MAIN = r"""
#include <stdint.h>
#include <stdio.h>

#include "model_data.h"

int main(int argc, char** argv) {
  FILE* out;
  if (argc != 2) return 2;
  out = fopen(argv[1], "wb");
  if (out == NULL) return 3;
  if (fwrite(SYMBOL, 1, SYMBOL_len, out) != SYMBOL_len) return 4;
  fclose(out);
  printf("%u %u %d %s\n", (unsigned)((uintptr_t)(const void*)SYMBOL % 16u), SYMBOL_len, (int)kModelLabelCount,
         kModelLabels[0]);
  return 0;
}
"""

Export = Callable[..., Path]


@pytest.fixture(scope="module")
def exported(deploy_model_factory: DeployModelFactory, tmp_path_factory: pytest.TempPathFactory) -> Export:
    """`export(name, language="c++", symbol="g_model", measure=False) -> folder` with the "c" format
    written into it, once per combination."""
    done: dict[tuple[str, str, str, bool], Path] = {}

    def export(name: str, language: str = "c++", symbol: str = "g_model", measure: bool = False) -> Path:
        key = (name, language, symbol, measure)
        if key not in done:
            folder = tmp_path_factory.mktemp(f"{name}_{language.replace('+', 'p')}")
            model = deploy_model_factory(name, measure)
            write(model, ExportOptions("c", folder, symbol=symbol, language=language), folder, Task())
            done[key] = folder
        return done[key]

    return export


def dump_program(compiler: Compiler, export: Path, work: Path, objects: list[Path], *, cxx: bool) -> Path:
    """A C (or C++) program linking `objects` that dumps the model the export's header declares."""
    main = work / ("dump_main.cpp" if cxx else "dump_main.c")
    main.write_text(DUMP_MAIN.replace("SYMBOL", "g_model"))
    main_object = compiler.compile(main, main.with_suffix(".o"), includes=[export])
    return compiler.link([main_object, *objects], work / ("dump_cpp" if cxx else "dump_c"), cxx=cxx)


def run(program: Path, *args: str) -> str:
    done = subprocess.run([str(program), *args], capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout.decode("utf-8")


@pytest.mark.parametrize(("name", "language"), [("digits_int8", "c++"), ("digits_int8", "c"), ("person_detect", "c++")])
def test_the_array_holds_the_tflite_byte_for_byte_aligned_to_16(
    exported: Export, host_compiler: Compiler, tmp_path: Path, name: str, language: str
) -> None:
    folder = exported(name, language)
    source = folder / ("model_data.cc" if language == "c++" else "model_data.c")
    model_object = host_compiler.compile(source, tmp_path / "model_data.o")
    program = dump_program(host_compiler, folder, tmp_path, [model_object], cxx=language == "c++")
    alignment, length, _, _ = run(program, str(tmp_path / "out.bin")).split(" ", 3)
    expected = MODEL_PATHS[name].read_bytes()
    assert (tmp_path / "out.bin").read_bytes() == expected
    assert (int(alignment), int(length)) == (0, len(expected))


@pytest.mark.parametrize("language", ["c++", "c"])
def test_one_model_object_links_into_a_c_and_a_cpp_program(
    exported: Export, host_compiler: Compiler, tmp_path: Path, language: str
) -> None:
    """extern linkage: the same object file (built as C++ or as C) serves a C main and a C++ main."""
    folder = exported("digits_int8", language)
    source = folder / ("model_data.cc" if language == "c++" else "model_data.c")
    model_object = host_compiler.compile(source, tmp_path / "model_data.o")
    expected = MODEL_PATHS["digits_int8"].read_bytes()
    for cxx in (False, True):
        program = dump_program(host_compiler, folder, tmp_path, [model_object], cxx=cxx)
        printed = run(program, str(tmp_path / "out.bin")).split()
        assert (tmp_path / "out.bin").read_bytes() == expected
        assert printed[2:] == ["10", "0"], "kModelLabelCount and the first label reach both programs"


@pytest.mark.parametrize("language", ["c++", "c"])
def test_every_generated_source_compiles_warning_free_on_the_host(
    exported: Export, host_compiler: Compiler, tmp_path: Path, language: str
) -> None:
    folder = exported("micro_speech_quantized", language)
    sources = sorted(p for p in folder.iterdir() if p.suffix in (".c", ".cc"))
    assert [p.stem for p in sources] == ["model_data", "model_slot"]
    for source in sources:
        host_compiler.compile(source, tmp_path / f"{source.name}.o", "-Wpedantic")
    if language == "c":
        assert not (folder / "model_ops.h").exists()
        # model_data.h alone, included by C++ too.
        probe = tmp_path / "probe.cpp"
        probe.write_text('#include "model_data.h"\nint probe() { return kTensorArenaSize + MODEL_INPUT0_BYTES; }\n')
        host_compiler.compile(probe, tmp_path / "probe.o", "-Wpedantic", includes=[folder])


def arm_symbols(object_file: Path) -> dict[str, tuple[str, int]]:
    """name -> (section, size) of the defined symbols, from arm-none-eabi-objdump -t."""
    done = subprocess.run(["arm-none-eabi-objdump", "-t", str(object_file)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    symbols = {}
    for line in done.stdout.splitlines():
        match = re.match(r"^[0-9a-f]{8} (.{7}) (\S+)\s+([0-9a-f]{8}) (\S+)$", line)
        if match and match.group(2) != "*UND*":
            symbols[match.group(4)] = (match.group(2), int(match.group(3), 16))
    return symbols


@pytest.mark.parametrize("language", ["c++", "c"])
def test_cross_compiled_model_is_read_only_data_of_its_exact_size(
    exported: Export, arm_compiler: Compiler, tmp_path: Path, language: str
) -> None:
    folder = exported("person_detect", language, "person_model")
    suffix = ".cc" if language == "c++" else ".c"
    model_object = arm_compiler.compile(folder / f"model_data{suffix}", tmp_path / "model_data.o")
    arm_compiler.compile(folder / f"model_slot{suffix}", tmp_path / "model_slot.o")
    symbols = arm_symbols(model_object)
    size = len(MODEL_PATHS["person_detect"].read_bytes())
    assert symbols["person_model"] == (".rodata", size), "in flash, not copied to RAM, and every byte there"
    assert symbols["person_model_len"] == (".rodata", 4)
    assert "g_model" not in symbols, "--symbol names the array"


def standin_resolver(methods: list[str]) -> str:
    """A stand-in for TFLM's micro_mutable_op_resolver.h with exactly `methods`, each recording its
    call; like TFLM's, a second call for the same operator or one past tOpCount is kTfLiteError."""
    adds = "\n".join(f'  TfLiteStatus {method}() {{ return Record("{method}"); }}' for method in methods)
    return f"""\
#ifndef TENSORFLOW_LITE_MICRO_MICRO_MUTABLE_OP_RESOLVER_H_
#define TENSORFLOW_LITE_MICRO_MICRO_MUTABLE_OP_RESOLVER_H_
typedef enum {{ kTfLiteOk = 0, kTfLiteError = 1 }} TfLiteStatus;
namespace tflite {{
template <unsigned int tOpCount>
class MicroMutableOpResolver {{
 public:
{adds}
  unsigned int GetRegistrationLength() const {{ return count_; }}
  const char* Registered(unsigned int i) const {{ return names_[i]; }}

 private:
  static bool Same(const char* a, const char* b) {{
    while (*a != 0 && *a == *b) {{ ++a; ++b; }}
    return *a == *b;
  }}
  TfLiteStatus Record(const char* name) {{
    for (unsigned int i = 0; i < count_; ++i) {{
      if (Same(names_[i], name)) return kTfLiteError;
    }}
    if (count_ >= tOpCount) return kTfLiteError;
    names_[count_++] = name;
    return kTfLiteOk;
  }}
  const char* names_[tOpCount] = {{}};
  unsigned int count_ = 0;
}};
}}  // namespace tflite
#endif
"""


OPS_MAIN = r"""
#include <cstdio>

#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "model_ops.h"

int main() {
  ModelOpResolver& resolver = GetModelOpResolver();
  ModelOpResolver& again = GetModelOpResolver();
  ModelOpResolver fresh;
  const TfLiteStatus status = RegisterModelOps(fresh);
  std::printf("%d %d %d %d\n", kModelOpCount, &resolver == &again, static_cast<int>(status),
              static_cast<int>(fresh.GetRegistrationLength()));
  for (unsigned int i = 0; i < resolver.GetRegistrationLength(); ++i) std::printf("%s\n", resolver.Registered(i));
  return 0;
}
"""


def ops_program(compiler: Compiler, folder: Path, work: Path, methods: list[str]) -> Path:
    """A program built from the export's model_ops.h against a resolver with `methods`."""
    header = work / "tflm" / "tensorflow" / "lite" / "micro" / "micro_mutable_op_resolver.h"
    header.parent.mkdir(parents=True, exist_ok=True)
    header.write_text(standin_resolver(methods))
    main = work / "ops_main.cpp"
    main.write_text(OPS_MAIN)
    main_object = compiler.compile(main, work / "ops_main.o", includes=[work / "tflm", folder])
    return compiler.link([main_object], work / "ops", cxx=True)


def distinct_operators(tflite: bytes) -> set[str]:
    return {op.op for sub in parse_tflite(tflite).subgraphs for op in sub.operators}


@pytest.mark.parametrize("name", ["person_detect", "micro_speech_quantized", "while_loop"])
def test_model_ops_registers_exactly_the_model_operators_with_methods_tflm_has(
    deploy_model_factory: DeployModelFactory,
    hand_built: Callable[[str, bytes], Path],
    host_compiler: Compiler,
    resolver_methods: list[str],
    tmp_path: Path,
    name: str,
) -> None:
    """Built against a stand-in resolver that has only TFLM's methods (tests/export/data): a call
    to a method TFLM lacks would not compile. Operators inside WHILE subgraphs count."""
    path = hand_built(name, while_loop_model()) if name == "while_loop" else MODEL_PATHS[name]
    model = deploy_model_factory(path)
    folder = tmp_path / "export"
    write_model_files(model, folder, with_slot=False)
    printed = run(ops_program(host_compiler, folder, tmp_path, resolver_methods)).split("\n")
    count, same, status, fresh_count = (int(v) for v in printed[0].split())
    registered = [line for line in printed[1:] if line]
    expected = {BUILTIN_METHODS[op] for op in distinct_operators(model.tflite)}
    assert sorted(registered) == sorted(expected)
    assert count == len(expected) == fresh_count, "MicroMutableOpResolver<N> with N the distinct operators"
    assert (same, status) == (1, 0), "one resolver, and every registration succeeded"


def test_model_ops_does_not_compile_against_a_resolver_lacking_a_method(
    deploy_model_factory: DeployModelFactory, host_compiler: Compiler, resolver_methods: list[str], tmp_path: Path
) -> None:
    """The stand-in check has teeth: without AddConv2D, person_detect's model_ops.h fails to build."""
    model = deploy_model_factory("person_detect")
    write_model_files(model, tmp_path / "export", with_slot=False)
    lacking = [m for m in resolver_methods if m != BUILTIN_METHODS["CONV_2D"]]
    with pytest.raises(AssertionError, match="AddConv2D"):
        ops_program(host_compiler, tmp_path / "export", tmp_path, lacking)


def test_model_ops_compiles_for_the_board(
    exported: Export, arm_compiler: Compiler, resolver_methods: list[str], tmp_path: Path
) -> None:
    folder = exported("person_detect")
    header = tmp_path / "tflm" / "tensorflow" / "lite" / "micro" / "micro_mutable_op_resolver.h"
    header.parent.mkdir(parents=True)
    header.write_text(standin_resolver(resolver_methods))
    user = tmp_path / "user.cpp"
    user.write_text(
        '#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"\n#include "model_ops.h"\n'
        "unsigned int registered() { return GetModelOpResolver().GetRegistrationLength(); }\n"
    )
    arm_compiler.compile(
        user, tmp_path / "user.o", "-fno-exceptions", "-fno-rtti", includes=[tmp_path / "tflm", folder]
    )


def header_figures(compiler: Compiler, folder: Path, model: DeployModel, work: Path) -> dict[str, list[str]]:
    """What a C program sees in model_data.h: key -> printed values (repeated keys gather)."""
    analysis = model.analysis
    lines = [
        "#include <stdio.h>",
        '#include "model_data.h"',
        "static void dims(const char* key, const int* values, int count) {",
        '  int i; printf("%s=", key); for (i = 0; i < count; ++i) printf("%d ", values[i]); printf("\\n");',
        "}",
        "int main(void) {",
        "  int i;",
        '  printf("arena=%d\\n", (int)kTensorArenaSize);',
        '  printf("input_count=%d\\noutput_count=%d\\n", (int)kModelInputCount, (int)kModelOutputCount);',
        '  printf("input_scale=%.9g\\ninput_zero_point=%d\\n", (double)MODEL_INPUT_SCALE, MODEL_INPUT_ZERO_POINT);',
        '  printf("output_scale=%.9g\\noutput_zero_point=%d\\n", (double)MODEL_OUTPUT_SCALE, MODEL_OUTPUT_ZERO_POINT);',
        '  printf("tensors=%d %d\\n", MODEL_INPUT_TENSORS, MODEL_OUTPUT_TENSORS);',
        '  for (i = 0; i < kModelLabelCount; ++i) printf("label=%s\\n", kModelLabels[i]);',
    ]
    for kind, tensors in (("INPUT", analysis.inputs), ("OUTPUT", analysis.outputs)):
        for index, tensor in enumerate(tensors):
            prefix = f"MODEL_{kind}{index}"
            type_macro = f"{prefix}_TYPE_{tensor.dtype}"
            lines += [
                "  {",
                f"    static const int shape[] = {prefix}_DIMS;",
                f'    dims("{prefix}_dims", shape, {prefix}_DIMS_COUNT);',
                f'    printf("{prefix}_bytes=%d\\n", {prefix}_BYTES);',
                f'    printf("{prefix}_quant=%.9g %d\\n", (double){prefix}_SCALE, {prefix}_ZERO_POINT);',
                f"#ifdef {type_macro}",
                f'    printf("{prefix}_type={tensor.dtype}\\n");',
                "#endif",
                "  }",
            ]
        type_macro = f"MODEL_{kind}_TYPE_{tensors[0].dtype}"
        lines += [f"#ifdef {type_macro}", f'  printf("{kind.lower()}_type={tensors[0].dtype}\\n");', "#endif"]
    lines += ["  return 0;", "}"]
    main = work / "figures.c"
    main.write_text("\n".join(lines) + "\n")
    source = folder / "model_data.c" if (folder / "model_data.c").exists() else folder / "model_data.cc"
    objects = [
        compiler.compile(main, work / "figures.o", includes=[folder]),
        compiler.compile(source, work / "model_data.o"),
    ]
    output = run(compiler.link(objects, work / "figures", cxx=source.suffix == ".cc"))
    figures: dict[str, list[str]] = {}
    for line in output.splitlines():
        key, _, value = line.partition("=")
        figures.setdefault(key, []).append(value.strip())
    return figures


def float32(value: float | None) -> str:
    """How C prints a float32 constant with %.9g."""
    import struct

    return f"{struct.unpack('<f', struct.pack('<f', value or 0.0))[0]:.9g}"


@pytest.mark.parametrize("name", ["digits_int8", "hello_world_float", "person_detect"])
def test_header_tells_shapes_types_quantization_and_labels_as_analyzed(
    deploy_model_factory: DeployModelFactory, exported: Export, host_compiler: Compiler, tmp_path: Path, name: str
) -> None:
    model = deploy_model_factory(name)
    figures = header_figures(host_compiler, exported(name, "c"), model, tmp_path)
    analysis = model.analysis
    first_in, first_out = analysis.inputs[0], analysis.outputs[0]
    assert figures["input_count"] == [str(tensor_elements(first_in.shape))]
    assert figures["output_count"] == [str(tensor_elements(first_out.shape))]
    assert figures["tensors"] == [f"{len(analysis.inputs)} {len(analysis.outputs)}"]
    assert figures["input_scale"] == [float32(first_in.scale)]
    assert figures["input_zero_point"] == [str(first_in.zero_point or 0)]
    assert figures["output_scale"] == [float32(first_out.scale)]
    assert figures["output_zero_point"] == [str(first_out.zero_point or 0)]
    assert figures["input_type"] == [first_in.dtype] and figures["output_type"] == [first_out.dtype]
    for kind, tensors in (("INPUT", analysis.inputs), ("OUTPUT", analysis.outputs)):
        for index, tensor in enumerate(tensors):
            prefix = f"MODEL_{kind}{index}"
            assert figures[f"{prefix}_dims"] == [" ".join(str(d) for d in tensor.shape)]
            assert figures[f"{prefix}_bytes"] == [str(tensor_bytes(tensor.dtype, tensor_elements(tensor.shape)))]
            assert figures[f"{prefix}_type"] == [tensor.dtype]
    assert figures.get("label", []) == list(model.labels)
    assert figures["arena"] == [str(tensor_arena_size(analysis, parse_tflite(model.tflite)).bytes)]


def tensor_elements(shape: list[int]) -> int:
    count = 1
    for dim in shape:
        count *= max(dim, 1)
    return count


def test_labels_of_any_text_reach_the_firmware_unchanged(
    deploy_model_factory: DeployModelFactory, host_compiler: Compiler, tmp_path: Path
) -> None:
    """Quotes, backslashes, trigraph-like ??= and non-ASCII survive as C strings."""
    labels = ('say "yes"', "back\\slash", "what??=", "naïve café", "tab\there", "*/ end")
    model = dataclasses.replace(deploy_model_factory("micro_speech_quantized"), labels=labels)
    folder = tmp_path / "export"
    write(model, ExportOptions("c", folder, language="c"), folder, Task())
    assert header_figures(host_compiler, folder, model, tmp_path)["label"] == list(labels)


def test_without_labels_the_list_has_one_empty_entry(exported: Export) -> None:
    source = (exported("hello_world_int8") / "model_data.cc").read_text()
    assert 'const char* const kModelLabels[] = {\n  "",\n};' in source
    assert "kModelLabelCount = 0" in (exported("hello_world_int8") / "model_data.h").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MODEL_PATHS))
def test_measured_arena_is_tflm_figure_plus_margin_and_the_estimate_covers_it(
    deploy_model_factory: DeployModelFactory, exported: Export, name: str
) -> None:
    """kTensorArenaSize of a measured model is TFLM's recommended arena, said to be measured; the
    estimate used when nothing was measured is never below what TFLM measured, nor far above."""
    model = deploy_model_factory(name, measure=True)
    report = model.analysis.tflm
    assert report is not None and report.arena_bytes and report.recommended_arena_bytes
    header = (exported(name, measure=True) / "model_data.h").read_text()
    assert f"kTensorArenaSize = {report.recommended_arena_bytes}," in header
    assert f"Measured: TFLM {report.tflm_version} needed {report.arena_bytes:,} bytes" in header
    activations, bookkeeping = estimate_arena_bytes(parse_tflite(model.tflite))
    assert report.arena_bytes <= activations + bookkeeping <= 2 * report.arena_bytes
    unmeasured = dataclasses.replace(model.analysis, tflm=None)
    estimate = tensor_arena_size(unmeasured, parse_tflite(model.tflite))
    assert not estimate.measured and estimate.bytes >= report.recommended_arena_bytes


def test_an_unmeasured_model_gets_an_estimate_that_says_so(
    exported: Export, deploy_model_factory: DeployModelFactory
) -> None:
    model = deploy_model_factory("person_detect")
    assert model.analysis.tflm is None
    header = (exported("person_detect") / "model_data.h").read_text()
    estimate = tensor_arena_size(model.analysis, parse_tflite(model.tflite))
    assert f"kTensorArenaSize = {estimate.bytes}," in header
    assert "ESTIMATE, not measured (TFLM did not measure this model)" in header
    activations, _ = estimate_arena_bytes(parse_tflite(model.tflite))
    # person_detect's largest step: a 48x48x8 activation read while the 48x48x16 one is written.
    assert activations >= (48 * 48 * 8 + 48 * 48 * 16)


def test_language_c_writes_c_files_and_says_how_to_register_the_operators(exported: Export) -> None:
    folder = exported("digits_int8", "c")
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["README.txt", "model_data.c", "model_data.h", "model_slot.c", "model_slot.h"]
    assert "_Alignas(16) const unsigned char g_model[]" in (folder / "model_data.c").read_text()


def test_write_returns_notes_for_the_person(deploy_model_factory: DeployModelFactory, tmp_path: Path) -> None:
    model = deploy_model_factory("digits_int8")
    notes_cpp = write(model, ExportOptions("c", tmp_path / "a"), tmp_path / "a", Task())
    notes_c = write(model, ExportOptions("c", tmp_path / "b", language="c"), tmp_path / "b", Task())
    assert any("an estimate" in note for note in notes_cpp)
    assert any("model_ops.h is C++" in note and "AddConv2D()" in note for note in notes_c)
    assert not any("model_ops.h" in note for note in notes_cpp)


def test_readme_says_which_include_comes_first_the_arena_and_the_slot(exported: Export) -> None:
    readme = (exported("digits_int8") / "README.txt").read_text()
    assert readme.index("micro_mutable_op_resolver.h") < readme.index('#include "model_ops.h"')
    assert "kTensorArenaSize = " in readme and "ESTIMATE" in readme
    assert "model_slot_find(" in readme and "MODEL_SLOT_SIZE" in readme
    readme_c = (exported("digits_int8", "c") / "README.txt").read_text()
    assert '#include "model_ops.h"' not in readme_c and "resolver.AddConv2D();" in readme_c


def test_an_operator_tflm_lacks_fails_the_export_before_any_file(
    deploy_model_factory: DeployModelFactory, tmp_path: Path
) -> None:
    model = dataclasses.replace(deploy_model_factory("hello_world_int8"), tflite=one_op_model("CUSTOM:MyOp"))
    with pytest.raises(WorkbenchError, match="custom operator 'MyOp'"):
        write(model, ExportOptions("c", tmp_path / "out"), tmp_path / "out", Task())
    assert not (tmp_path / "out").exists()


def test_a_symbol_that_cannot_name_a_c_array_is_refused(
    deploy_model_factory: DeployModelFactory, tmp_path: Path
) -> None:
    with pytest.raises(WorkbenchError, match="cannot name a C array"):
        write_model_files(deploy_model_factory("hello_world_int8"), tmp_path / "out", symbol="2model")
    assert not (tmp_path / "out").exists()


def test_the_c_format_exports_through_the_engine(deploy_model_factory: DeployModelFactory, tmp_path: Path) -> None:
    """api.export() with format "c" runs this writer and moves its files into place."""
    result = api.export(deploy_model_factory("digits_int8"), ExportOptions("c", tmp_path / "out"), Task())
    assert sorted(p.name for p in result.files) == [
        "README.txt",
        "model_data.cc",
        "model_data.h",
        "model_ops.h",
        "model_slot.cc",
        "model_slot.h",
    ]
    assert result.notes
