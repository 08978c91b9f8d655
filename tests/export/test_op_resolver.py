"""The builtin -> MicroMutableOpResolver method table, against TFLM's own header."""

from __future__ import annotations

import pytest

from tests.export.conftest import MODEL_PATHS, one_op_model, while_loop_model
from workbench.core.errors import WorkbenchError
from workbench.core.tflite_enums import BUILTIN_OPERATORS
from workbench.core.tflite_file import parse_tflite
from workbench.core.tflm_ops import KNOWN_CUSTOM_OPS
from workbench.export.op_resolver import BUILTIN_METHODS, CUSTOM_METHODS, model_operators, resolver_registrations


def test_every_method_the_table_calls_exists_in_tflm_resolver(resolver_methods: list[str]) -> None:
    """A generated model_ops.h never calls a method TFLM's MicroMutableOpResolver lacks."""
    missing = sorted({*BUILTIN_METHODS.values(), *CUSTOM_METHODS.values()} - set(resolver_methods))
    assert not missing, f"not in TFLM's micro_mutable_op_resolver.h: {missing}"


def test_every_operator_tflm_registers_has_its_row_in_the_table(resolver_methods: list[str]) -> None:
    """Every operator TFLM's resolver can register (each of its Add... methods) is reachable from
    the table, so no model TFLM runs is refused as unsupported."""
    unreachable = sorted(set(resolver_methods) - {*BUILTIN_METHODS.values(), *CUSTOM_METHODS.values()})
    assert not unreachable, f"TFLM methods no operator maps to: {unreachable}"
    assert len(resolver_methods) == len(set(resolver_methods)), "the extracted method list has duplicates"


def test_table_rows_are_real_operators_and_one_method_each() -> None:
    """Builtin rows name operators of the TFLite schema; no two operators share a method."""
    assert set(BUILTIN_METHODS) <= set(BUILTIN_OPERATORS.values())
    methods = [*BUILTIN_METHODS.values(), *CUSTOM_METHODS.values()]
    assert len(methods) == len(set(methods))


def test_custom_kernels_tflm_ships_have_a_method() -> None:
    """The custom operators the workbench knows TFLM has kernels for can be registered."""
    assert KNOWN_CUSTOM_OPS <= set(CUSTOM_METHODS)


def test_operators_inside_while_loop_subgraphs_are_registered() -> None:
    """ADD and LESS run only inside the WHILE's body and condition: they are registered too."""
    registrations = resolver_registrations(parse_tflite(while_loop_model()), "while_loop")
    assert [(r.op, r.method) for r in registrations] == [
        ("ADD", BUILTIN_METHODS["ADD"]),
        ("LESS", BUILTIN_METHODS["LESS"]),
        ("WHILE", BUILTIN_METHODS["WHILE"]),
    ]


@pytest.mark.parametrize("name", sorted(MODEL_PATHS))
def test_reference_models_register_each_distinct_operator_once(name: str) -> None:
    graph = parse_tflite(MODEL_PATHS[name].read_bytes())
    registrations = resolver_registrations(graph, name)
    used = {op.op for sub in graph.subgraphs for op in sub.operators}
    assert {r.op for r in registrations} == used
    assert len({r.method for r in registrations}) == len(registrations)


def test_a_custom_operator_tflm_lacks_is_an_error_naming_it() -> None:
    with pytest.raises(WorkbenchError, match="custom operator 'MyOp'") as caught:
        resolver_registrations(parse_tflite(one_op_model("CUSTOM:MyOp")), "my_model")
    assert caught.value.message.startswith("my_model uses")
    assert "AddCustom" in caught.value.hint


def test_a_builtin_tflm_lacks_is_an_error_naming_it() -> None:
    assert "TOPK_V2" not in BUILTIN_METHODS
    with pytest.raises(WorkbenchError, match="operator TOPK_V2"):
        resolver_registrations(parse_tflite(one_op_model("TOPK_V2")), "topk")


def test_a_custom_operator_tflm_has_is_registered_by_its_own_method() -> None:
    graph = parse_tflite(one_op_model("CUSTOM:TFLite_Detection_PostProcess"))
    assert model_operators(graph) == [("TFLite_Detection_PostProcess", True)]
    [registration] = resolver_registrations(graph, "detector")
    assert registration.custom and registration.method == CUSTOM_METHODS["TFLite_Detection_PostProcess"]


def test_a_custom_operator_named_like_a_builtin_is_not_taken_for_it() -> None:
    """A custom operator whose code is "ADD" is not TFLM's ADD kernel."""
    with pytest.raises(WorkbenchError, match="custom operator 'ADD'"):
        resolver_registrations(parse_tflite(one_op_model("CUSTOM:ADD")), "odd")
