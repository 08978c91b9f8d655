"""Drop what TFLM never reads from a .tflite: tensor and subgraph names, the description,
signature defs and conversion metadata. Buffers stay 16-byte aligned, as the converter writes them.
"""

from __future__ import annotations

from typing import Any

# Metadata TFLM reads at run time (the name is kOfflineMemAllocMetadata in TFLM's
# micro_allocation_info.cc: an offline tensor placement); conversion metadata and the runtime
# version it ignores.
OFFLINE_PLAN_METADATA = "OfflineMemoryAllocation"
KEEP_METADATA = {OFFLINE_PLAN_METADATA}
BUFFER_ALIGNMENT = 16


def strip_model(data: bytes) -> bytes:
    """The same model without the strings and metadata a microcontroller never reads."""
    model = read_model(data)
    model.description = None
    model.signatureDefs = None
    for subgraph in model.subgraphs or []:
        subgraph.name = None
        for tensor in subgraph.tensors or []:
            tensor.name = None
    kept = []
    for meta in model.metadata or []:
        name = meta.name.decode() if isinstance(meta.name, bytes) else str(meta.name)
        if name in KEEP_METADATA:
            kept.append(meta)
        elif model.buffers and meta.buffer < len(model.buffers):
            model.buffers[meta.buffer].data = None  # the buffer slot stays so indices do not move
    model.metadata = kept or None
    return pack_model(model, len(data))


def read_model(data: bytes) -> Any:
    """The model as flatbuffers' object API has it (schema.ModelT), to change and `pack_model`."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    return schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(bytearray(data), 0))


def pack_model(model: Any, size_hint: int) -> bytes:
    """A schema.ModelT as .tflite bytes, buffers 16-byte aligned as the converter writes them."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    builder = flatbuffers.Builder(size_hint)
    with _aligned_buffers(schema):
        offset = model.Pack(builder)
    builder.Finish(offset, file_identifier=b"TFL3")
    return bytes(builder.Output())


class _aligned_buffers:  # noqa: N801 - used as a context manager
    """Pack Buffer.data vectors 16-byte aligned (the schema's force_align), like the converter does."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema

    def __enter__(self) -> None:
        schema = self.schema
        self.original = schema.BufferT.Pack

        def pack(buffer: Any, builder: Any) -> Any:
            data = None
            if buffer.data is not None:
                raw = bytes(bytearray(buffer.data))
                builder.StartVector(1, len(raw), BUFFER_ALIGNMENT)
                builder.head = builder.head - len(raw)
                builder.Bytes[builder.head : builder.head + len(raw)] = raw
                data = builder.EndVector(len(raw)) if _end_vector_takes_length(builder) else builder.EndVector()
            schema.BufferStart(builder)
            if data is not None:
                schema.BufferAddData(builder, data)
            schema.BufferAddOffset(builder, buffer.offset)
            schema.BufferAddSize(builder, buffer.size)
            return schema.BufferEnd(builder)

        schema.BufferT.Pack = pack

    def __exit__(self, *_: object) -> None:
        self.schema.BufferT.Pack = self.original


def _end_vector_takes_length(builder: Any) -> bool:
    """Old flatbuffers releases need the length; newer ones deprecate passing it."""
    import inspect

    parameters = list(inspect.signature(builder.EndVector).parameters.values())
    return bool(parameters) and parameters[0].default is inspect.Parameter.empty
