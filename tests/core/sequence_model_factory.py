"""Builds the recurrent, 3D and stateful models of the core tests with real Keras and the real
TFLite converter; run in a child process (TensorFlow stays out of the test process):
    python tests/core/sequence_model_factory.py OUTPUT_DIR
Writes each model plus facts.json with Keras' own parameter counts.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

STEPS, FEATURES, UNITS = 8, 4, 6


def _convert(model: object) -> bytes:
    return tf.lite.TFLiteConverter.from_keras_model(model).convert()  # type: ignore[no-any-return]


def _random_weights(model: keras.Model | tf_keras.Model) -> None:
    """Non-zero weights and biases everywhere, so that no constant is dropped or shared as zeros."""
    rng = np.random.default_rng(3)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    facts: dict[str, object] = {"steps": STEPS, "features": FEATURES, "units": UNITS}

    # Keras 2 (tf_keras, what legacy .h5 models use): the converter fuses the LSTM into one
    # UNIDIRECTIONAL_SEQUENCE_LSTM. Its zero biases stay as Keras initialized them.
    tf_keras.utils.set_random_seed(0)
    fused = tf_keras.Sequential(
        [tf_keras.Input((STEPS, FEATURES), batch_size=1), tf_keras.layers.LSTM(UNITS), tf_keras.layers.Dense(2)]
    )
    (out / "lstm_fused.tflite").write_bytes(_convert(fused))
    facts["lstm_fused_params"] = [int(layer.count_params()) for layer in fused.layers]

    # Keras 3: the same LSTM becomes a WHILE loop over the time steps.
    keras.utils.set_random_seed(0)
    looped = keras.Sequential(
        [keras.Input((STEPS, FEATURES), batch_size=1), keras.layers.LSTM(UNITS), keras.layers.Dense(2)]
    )
    _random_weights(looped)
    (out / "lstm_while.tflite").write_bytes(_convert(looped))
    facts["lstm_while_params"] = [int(layer.count_params()) for layer in looped.layers]

    rnn = tf_keras.Sequential([tf_keras.Input((7, 3), batch_size=1), tf_keras.layers.SimpleRNN(5)])
    _random_weights(rnn)
    (out / "rnn_while.tflite").write_bytes(_convert(rnn))
    facts["rnn_while_params"] = int(rnn.count_params())

    conv3d = keras.Sequential([keras.Input((5, 6, 5, 2), batch_size=1), keras.layers.Conv3D(4, (2, 3, 2))])
    (out / "conv3d.tflite").write_bytes(_convert(conv3d))
    transposed = keras.Sequential([keras.Input((4, 4, 4, 2), batch_size=1), keras.layers.Conv3DTranspose(3, 2)])
    (out / "conv3d_transpose.tflite").write_bytes(_convert(transposed))

    rng = np.random.default_rng(4)
    wide, narrow, square = (tf.constant(rng.normal(size=shape).astype("float32")) for shape in ((4, 8), (4, 3), (4, 4)))

    def branches(x: tf.Tensor) -> tf.Tensor:
        """An IF: a 4x8 or a 4x3 matrix product, depending on the input."""
        return tf.cond(
            tf.reduce_sum(x) > 0.0,
            lambda: tf.reduce_sum(tf.matmul(x, wide), axis=1),
            lambda: tf.reduce_sum(tf.matmul(x, narrow), axis=1),
        )

    def until_large(x: tf.Tensor) -> tf.Tensor:
        """A WHILE whose iterations depend on the data: a 4x4 matrix product until the sum passes 100."""
        _, y = tf.while_loop(
            lambda i, y: tf.reduce_sum(y) < 100.0, lambda i, y: (i + 1, tf.matmul(y, square) + 1.0), (tf.constant(0), x)
        )
        return y

    for name, function in (("if", branches), ("while_data_dependent", until_large)):
        concrete = tf.function(function, input_signature=[tf.TensorSpec([1, 4], tf.float32)]).get_concrete_function()
        (out / f"{name}.tflite").write_bytes(tf.lite.TFLiteConverter.from_concrete_functions([concrete]).convert())

    class Accumulator(tf.Module):
        """A model that keeps a running sum between inferences in a resource variable."""

        def __init__(self) -> None:
            self.total = tf.Variable(tf.zeros([1, 4]))

        @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
        def __call__(self, x: tf.Tensor) -> tf.Tensor:
            self.total.assign_add(x)
            return self.total * 2.0

    accumulator = Accumulator()
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [accumulator.__call__.get_concrete_function()], accumulator
    )
    (out / "resource_variable.tflite").write_bytes(converter.convert())

    (out / "facts.json").write_text(json.dumps(facts, indent=2))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
