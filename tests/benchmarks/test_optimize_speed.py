"""Optimize benchmarks, reported beside baselines measured in the same run (not asserted).

- `tinyml-workbench optimize --quant int8` of the bundled sample against a plain script doing the
  same TFLiteConverter conversion (goal: at most 1.2x). The workbench also runs TFLM's pre-flight
  and arena search on the result, which the plain script does not.
- The instant estimate on a model of a few MB, against reading that model's flatbuffer (goal: 50 ms).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from tests.benchmarks.test_startup_and_analyze import _report, _seconds
from tests.conftest import ROOT, SAMPLES

PLAIN_CONVERTER = """
import sys, numpy as np, keras, tensorflow as tf
model = keras.models.load_model(sys.argv[1], compile=False)
single = keras.models.clone_model(model, input_tensors=keras.Input(model.inputs[0].shape[1:], batch_size=1))
single.set_weights(model.get_weights())
calib = np.load(sys.argv[2]).astype('float32')
converter = tf.lite.TFLiteConverter.from_keras_model(single)
converter.optimizations = [tf.lite.Optimize.DEFAULT]
converter.representative_dataset = lambda: ([s[None]] for s in calib)
converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
converter.inference_input_type = tf.int8
converter.inference_output_type = tf.int8
open(sys.argv[3], 'wb').write(converter.convert())
"""

BIG_MODEL = """
import sys, keras
keras.applications.MobileNetV2(input_shape=(128, 128, 3), alpha=0.75, weights=None, classes=10).save(sys.argv[1])
"""


def test_optimize_against_a_plain_converter_script(tmp_path: Path, digits_data: dict[str, Path]) -> None:
    calib = str(digits_data["calib"])
    env_runs = 3
    plain = [
        _seconds(
            [
                sys.executable,
                "-c",
                PLAIN_CONVERTER,
                str(SAMPLES / "digits.keras"),
                calib,
                str(tmp_path / "plain.tflite"),
            ]
        )
        for _ in range(env_runs)
    ]
    ours = [
        _seconds(
            [
                sys.executable,
                "-m",
                "workbench",
                "optimize",
                str(SAMPLES / "digits.keras"),
                "--quant",
                "int8",
                "--calib",
                calib,
                "-o",
                str(tmp_path / "ours.tflite"),
            ]
        )
        for _ in range(env_runs)
    ]
    _report(
        "optimize digits.keras to int8",
        "tinyml-workbench optimize (+ TFLM check)",
        ours,
        "plain TFLiteConverter script",
        plain,
        "at most 1.2x",
    )


def test_estimate_latency_on_a_model_of_a_few_mb(tmp_path: Path) -> None:
    from workbench.core.analysis import analyze
    from workbench.core.loading import load_model
    from workbench.core.tflite_file import parse_tflite
    from workbench.optimize.estimate import estimate
    from workbench.optimize.plan import Plan

    path = tmp_path / "mobilenet_v2.keras"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    subprocess.run([sys.executable, "-c", BIG_MODEL, str(path)], check=True, env=env, cwd=ROOT, timeout=600)
    model = load_model(path)
    analysis = analyze(model)
    plans = [Plan(quant=q, sparsity=s) for q in ("int8", "float16", "dynamic") for s in (0.0, 0.5)]
    timings = []
    for plan in plans * 3:
        start = time.perf_counter()
        estimate(model, analysis, plan)
        timings.append(time.perf_counter() - start)
    parse = []
    for _ in range(len(timings)):
        start = time.perf_counter()
        parse_tflite(model.tflite)
        parse.append(time.perf_counter() - start)
    print(f"\nmodel: {len(model.tflite) / 1e6:.1f} MB float, {analysis.totals.params:,} parameters")
    _report(
        "instant estimate (median over settings)",
        "estimate()",
        timings,
        "parse the flatbuffer",
        parse,
        f"under 50 ms; worst estimate {max(timings) * 1000:.0f} ms, p90 {np.percentile(timings, 90) * 1000:.0f} ms",
    )
    assert statistics.median(timings) > 0
