"""Builds the models the tests need with real Keras and the real TFLite converter.

Run once per test session in a child process (TensorFlow stays out of the test process):
    python tests/model_factory.py OUTPUT_DIR
Writes each model plus facts.json with Keras' own parameter counts.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def small_cnn() -> keras.Model:
    keras.utils.set_random_seed(1)
    inputs = keras.Input((12, 12, 3), name="pixels")
    h = keras.layers.Conv2D(8, 3, activation="relu", name="conv")(inputs)
    h = keras.layers.DepthwiseConv2D(3, activation="relu", name="depthwise")(h)
    h = keras.layers.Conv2D(4, 1, name="pointwise")(h)
    h = keras.layers.MaxPooling2D(2, name="pool")(h)
    h = keras.layers.Flatten(name="flatten")(h)
    outputs = keras.layers.Dense(5, activation="softmax", name="classes")(h)
    model = keras.Model(inputs, outputs, name="small_cnn")
    # Non-zero biases: the converter drops all-zero bias vectors, which would hide parameters.
    model.set_weights(
        [np.random.default_rng(i).normal(size=w.shape).astype("float32") for i, w in enumerate(model.get_weights())]
    )
    return model


def convert(model: keras.Model, mode: str) -> bytes:
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode in ("dynamic", "float16", "int8"):
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if mode == "int8":
        shape = [1, *model.inputs[0].shape[1:]]
        converter.representative_dataset = lambda: ([np.random.rand(*shape).astype("float32")] for _ in range(20))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter.convert()  # type: ignore[no-any-return]


def function_model(fn, shape, custom=False) -> bytes:  # type: ignore[no-untyped-def]
    concrete = tf.function(fn, input_signature=[tf.TensorSpec(shape, tf.float32)]).get_concrete_function()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
    converter.allow_custom_ops = custom
    return converter.convert()  # type: ignore[no-any-return]


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    cnn = small_cnn()
    cnn.save(out / "small_cnn.keras")
    single = keras.models.clone_model(cnn, input_tensors=keras.Input((12, 12, 3), batch_size=1))
    single.set_weights(cnn.get_weights())
    (out / "small_cnn_float.tflite").write_bytes(convert(single, "float"))
    (out / "small_cnn_int8.tflite").write_bytes(convert(single, "int8"))
    (out / "small_cnn_float16.tflite").write_bytes(convert(single, "float16"))

    keras.utils.set_random_seed(2)
    mlp = keras.Sequential(
        [
            keras.Input((64,), batch_size=1),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(3),
        ]
    )
    (out / "mlp_dynamic.tflite").write_bytes(convert(mlp, "dynamic"))
    no_bias = keras.Sequential([keras.Input((6,), batch_size=1), keras.layers.Dense(3, use_bias=False)])
    (out / "dense_no_bias_int8.tflite").write_bytes(convert(no_bias, "int8"))
    (out / "topk.tflite").write_bytes(function_model(lambda x: tf.math.top_k(x, 3).values * 2.0, [1, 8]))
    (out / "custom_op.tflite").write_bytes(function_model(lambda x: tf.math.special.bessel_i0(x), [1, 4], custom=True))

    lam_in = keras.Input((4,))
    lam = keras.Model(lam_in, keras.layers.Dense(2)(keras.layers.Lambda(lambda t: t * 2.0, name="doubler")(lam_in)))
    lam.save(out / "lambda.keras")

    @keras.saving.register_keras_serializable(package="factory")
    class Doubling(keras.layers.Layer):
        def call(self, x):  # type: ignore[no-untyped-def]
            return x * 2.0

    custom_in = keras.Input((4,))
    keras.Model(custom_in, keras.layers.Dense(2)(Doubling(name="doubling")(custom_in))).save(out / "custom_layer.keras")

    # A legacy Keras 2 .h5: TF 2.x wrote DepthwiseConv2D configs with `groups`, which Keras 3 refuses.
    legacy_in = keras.Input((10, 10, 2))
    legacy = keras.Model(
        legacy_in, keras.layers.Dense(3)(keras.layers.Flatten()(keras.layers.DepthwiseConv2D(3, name="dw")(legacy_in)))
    )
    legacy.save(out / "legacy.h5")
    with h5py.File(out / "legacy.h5", "r+") as handle:
        config = json.loads(handle.attrs["model_config"])
        for layer in config["config"]["layers"]:
            if layer["class_name"] == "DepthwiseConv2D":
                layer["config"]["groups"] = 1
        handle.attrs["model_config"] = json.dumps(config)

    module = tf.Module()
    module.w = tf.Variable(np.random.rand(6, 3).astype("float32"))
    module.f = tf.function(
        lambda x: {"y": tf.nn.relu(tf.matmul(x, module.w))},
        input_signature=[tf.TensorSpec([None, 6], tf.float32, name="x")],
    )
    tf.saved_model.save(module, str(out / "saved_model"), signatures={"serving_default": module.f})

    # Default layer names (conv2d, conv2d_1, ...) collide with TensorFlow's scope suffixes.
    res_in = keras.Input((16, 16, 3))
    first = keras.layers.Conv2D(8, 3, padding="same")(res_in)
    second = keras.layers.Conv2D(8, 3, padding="same")(first)
    merged = keras.layers.Add()([first, second])
    up = keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same")(merged)
    residual = keras.Model(res_in, keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(up)))
    residual.save(out / "residual.keras")

    facts = {
        "residual_layers": [layer.name for layer in residual.layers[1:]],
        "small_cnn": {
            "params_by_layer": {layer.name: int(layer.count_params()) for layer in cnn.layers},
            "params": int(cnn.count_params()),
        },
        "legacy_h5_has_groups": True,
    }
    (out / "facts.json").write_text(json.dumps(facts, indent=2))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
