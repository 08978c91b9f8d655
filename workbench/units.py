"""Numbers for people: bytes in KB with one decimal, counts with k/M/G, percentages."""

from __future__ import annotations

FLASH_LABELS = {
    "weights": "Weights",
    "biases": "Biases",
    "quantization": "Quantization parameters",
    "tensor_names": "Tensor names",
    "signatures_metadata": "Signatures and metadata",
    "graph_structure": "Graph structure",
}


def kb(num_bytes: int | float | None) -> str:
    """'83.3 KB' (1 KB = 1024 bytes); '-' for unknown; MB above 10 MB."""
    if num_bytes is None:
        return "-"
    if abs(num_bytes) >= 10 * 1024 * 1024:
        return f"{num_bytes / (1024 * 1024):.1f} MB"
    return f"{num_bytes / 1024:.1f} KB"


def count(value: int | float | None) -> str:
    """'7.16 M', '12.3 k', '288'."""
    if value is None:
        return "-"
    for limit, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:g}"


def percent(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "-"


def probability(value: float) -> str:
    """A probability for people: '98.2%', '<0.1%' for tiny ones, '0%' for none (never 2.7e-12)."""
    if value >= 0.9995:
        return "100%"
    if value >= 0.0005:
        return f"{value:.1%}"
    return "<0.1%" if value > 0 else "0%"


def shape(dims: list[int]) -> str:
    return "x".join(str(d) for d in dims) if dims else "scalar"
