"""Custom operators TFLM ships kernels for (everything else named CUSTOM needs your own)."""

from __future__ import annotations

KNOWN_CUSTOM_OPS = frozenset(
    {
        "TFLite_Detection_PostProcess",
        "ethos-u",
        "SignalWindow",
        "SignalFftAutoScale",
        "SignalRfft",
        "SignalIrfft",
        "SignalEnergy",
        "SignalFilterBank",
        "SignalFilterBankSquareRoot",
        "SignalFilterBankSpectralSubtraction",
        "SignalFilterBankLog",
        "SignalFramer",
        "SignalOverlapAdd",
        "SignalStacker",
        "SignalDelay",
        "SignalPCAN",
    }
)
