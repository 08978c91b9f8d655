"""Builds legacy Keras 2 .h5 models the way TensorFlow 2.x users wrote them: with tf_keras
(the Keras 2 API) and `model.save("x.h5")`, plus what TensorFlow's own converter made from them.

Run once per test session in a child process (TensorFlow stays out of the test process):
    python tests/legacy_h5_factory.py OUTPUT_DIR
Tiny versions of the TinyML benchmark reference models (Dense+BatchNorm autoencoder, ResNet-8,
MobileNet-v1 - which Keras 3 refuses -, DS-CNN), one with an operation TFLite cannot express and one
with a Lambda layer. Writes facts.json with tf_keras' own figures for each model.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

layers = keras.layers
DIGITS_SHAPE = (8, 8, 1)


def autoencoder() -> keras.Model:
    """The anomaly-detection autoencoder: Dense + BatchNormalization + ReLU blocks around a bottleneck."""
    inputs = keras.Input((32,))
    h = inputs
    for units in (16, 16, 4, 16, 16):
        h = layers.Dense(units)(h)
        h = layers.BatchNormalization()(h)
        h = layers.Activation("relu")(h)
    return keras.Model(inputs, layers.Dense(32)(h), name="autoencoder")


def resnet8(shape: tuple[int, ...] = DIGITS_SHAPE, classes: int = 10) -> keras.Model:
    """ResNet-8 as in the image-classification benchmark: Conv+BN stacks, residual Add, a strided
    stack with a 1x1 conv shortcut, average pooling and a softmax Dense."""

    # Momentum 0.9: the moving statistics settle within the few training steps the test affords.
    def norm() -> Any:
        return layers.BatchNormalization(momentum=0.9)

    inputs = keras.Input(shape)
    x = layers.Activation("relu")(norm()(layers.Conv2D(8, 3, padding="same")(inputs)))
    y = layers.Activation("relu")(norm()(layers.Conv2D(8, 3, padding="same")(x)))
    y = norm()(layers.Conv2D(8, 3, padding="same")(y))
    x = layers.Activation("relu")(layers.Add()([x, y]))
    y = layers.Activation("relu")(norm()(layers.Conv2D(16, 3, strides=2, padding="same")(x)))
    y = norm()(layers.Conv2D(16, 3, padding="same")(y))
    shortcut = layers.Conv2D(16, 1, strides=2, padding="same")(x)
    x = layers.Activation("relu")(layers.Add()([shortcut, y]))
    x = layers.Flatten()(layers.AveragePooling2D(pool_size=4)(x))
    return keras.Model(inputs, layers.Dense(classes, activation="softmax")(x), name="resnet8")


def mobilenet_v1() -> keras.Model:
    """MobileNet-v1 as in visual wake words: bias-free Conv/DepthwiseConv2D + BN + ReLU6.

    The first activation is TensorFlow's own `tf.nn.relu6`, which tf.keras stored as a TFOpLambda
    layer: Keras 3 refuses such a file outright.
    """
    inputs = keras.Input((16, 16, 3))
    x = tf.nn.relu6(layers.BatchNormalization()(layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(inputs)))
    for filters, stride in ((16, 1), (16, 2)):
        x = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x)
        x = layers.ReLU(6.0)(layers.BatchNormalization()(x))
        x = layers.ReLU(6.0)(layers.BatchNormalization()(layers.Conv2D(filters, 1, use_bias=False)(x)))
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(2, activation="softmax")(x), name="mobilenet_v1")


def ds_cnn() -> keras.Model:
    """DS-CNN as in keyword spotting: Conv+BN, depthwise-separable blocks, dropout, average pooling."""
    inputs = keras.Input(DIGITS_SHAPE)
    x = layers.Activation("relu")(layers.BatchNormalization()(layers.Conv2D(8, (3, 3), padding="same")(inputs)))
    x = layers.Dropout(0.2)(x)
    for _ in range(2):
        x = layers.Activation("relu")(layers.BatchNormalization()(layers.DepthwiseConv2D(3, padding="same")(x)))
        x = layers.Activation("relu")(layers.BatchNormalization()(layers.Conv2D(8, 1)(x)))
    x = layers.Dropout(0.2)(x)
    x = layers.Flatten()(layers.AveragePooling2D(pool_size=(8, 8))(x))
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(x), name="ds_cnn")


def randomized(model: keras.Model, seed: int) -> keras.Model:
    """Non-zero biases and batch-norm statistics, as training leaves them (the converter drops
    all-zero biases and folding an identity batch norm would prove nothing)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if isinstance(layer, layers.BatchNormalization):
            gamma, beta, mean, var = weights
            weights = [
                rng.uniform(0.5, 1.5, gamma.shape),
                rng.normal(0, 0.2, beta.shape),
                rng.normal(0, 0.2, mean.shape),
                rng.uniform(0.5, 1.5, var.shape),
            ]
        else:
            weights = [w + rng.normal(0, 0.05, w.shape) if w.ndim == 1 else w for w in weights]
        layer.set_weights([np.asarray(w, dtype="float32") for w in weights])
    return model


def convert(model: keras.Model, calibration: np.ndarray | None = None) -> bytes:
    """What TensorFlow's converter writes: float, or full int8 with int8 input and output."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if calibration is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([sample[None]] for sample in calibration)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return bytes(converter.convert())


def facts_of(model: keras.Model) -> dict[str, Any]:
    """tf_keras' own figures: parameters, what batch norm adds and removes, weighted layers."""
    batch_norm = 0
    new_biases = 0
    weighted = []
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            batch_norm += layer.count_params()
            producer = layer.inbound_nodes[0].inbound_layers
            if not getattr(producer, "use_bias", True):
                new_biases += int(layer.gamma.shape[0])  # folding gives the bias-free conv a bias
        kernel = getattr(layer, "depthwise_kernel", None)
        kernel = getattr(layer, "kernel", None) if kernel is None else kernel
        if kernel is not None:
            weighted.append(
                {"name": layer.name, "kernel_elements": int(np.prod(kernel.shape)), "output": list(layer.output_shape)}
            )
    return {
        "count_params": int(model.count_params()),
        "batch_norm_params": batch_norm,
        "folded_new_biases": new_biases,
        "weighted_layers": weighted,
        "input_shape": [1, *model.inputs[0].shape[1:]],
    }


def digits() -> dict[str, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.images / 16.0).astype("float32")[..., None]
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], data.target[order]
    return {"x_train": x[:1300], "y_train": y[:1300], "x_eval": x[1300:], "y_eval": y[1300:]}


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(3)
    data = digits()
    np.savez(out / "digits_train.npz", x=data["x_train"][:300], y=data["y_train"][:300])
    np.savez(out / "digits_eval.npz", x=data["x_eval"], y=data["y_eval"])
    facts: dict[str, Any] = {}
    models = {
        "autoencoder": randomized(autoencoder(), 1),
        "resnet8": resnet8(),
        "mobilenet_v1": randomized(mobilenet_v1(), 2),
        "ds_cnn": randomized(ds_cnn(), 3),
    }
    # ResNet-8 is trained, so that int8 accuracy can be judged against real labels.
    trained = models["resnet8"]
    trained.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    trained.fit(data["x_train"], data["y_train"], epochs=4, batch_size=32, verbose=0)
    rng = np.random.default_rng(4)
    for name, model in models.items():
        model.save(out / f"{name}.h5")
        shape = tuple(model.inputs[0].shape[1:])
        calibration = data["x_train"][:64] if shape == DIGITS_SHAPE else rng.uniform(0, 1, (64, *shape))
        calibration = calibration.astype("float32")
        np.save(out / f"{name}_calibration.npy", calibration)
        (out / f"{name}_direct.tflite").write_bytes(convert(model))
        if name == "mobilenet_v1":  # labelled samples to fine-tune the pruned model on
            np.savez(out / f"{name}_train.npz", x=calibration, y=rng.integers(0, 2, len(calibration)))
        # The int8 file its author would have written with TensorFlow's converter, for the size bar.
        (out / f"{name}_direct_int8.tflite").write_bytes(convert(model, calibration))
        facts[name] = facts_of(model)
    trained.save(out / "resnet8_keras2.keras")  # tf_keras' own .keras archive, which Keras 3 cannot load either
    facts["resnet8"]["eval_accuracy"] = float(
        np.mean(np.argmax(trained.predict(data["x_eval"], verbose=0), axis=1) == data["y_eval"])
    )

    # The file Keras 3 refuses (for its TFOpLambda layer) does not say which Keras wrote it either.
    with h5py.File(out / "mobilenet_v1.h5", "r+") as handle:
        del handle.attrs["keras_version"]
    facts["mobilenet_v1"]["keras3_refusal"] = keras3_refusal(out / "mobilenet_v1.h5")

    inputs = keras.Input((4,))
    x = tf.math.erfinv(layers.Dense(4)(inputs))  # no TFLite builtin operator computes erfinv
    keras.Model(inputs, layers.Dense(2)(x)).save(out / "unconvertible.h5")

    inputs = keras.Input((4,))
    lam = keras.Model(inputs, layers.Dense(2)(layers.Lambda(lambda t: t * 2.0, name="doubler")(inputs)))
    lam.save(out / "lambda.h5")
    (out / "facts.json").write_text(json.dumps(facts, indent=2))


def keras3_refusal(path: Path) -> str:
    """Keras 3's own error on the file ("" if it loads it after all)."""
    import keras as keras3

    try:
        keras3.models.load_model(path, compile=False)
    except Exception as error:  # noqa: BLE001 - any refusal counts
        return f"{type(error).__name__}: {error}"
    return ""


if __name__ == "__main__":
    main(Path(sys.argv[1]))
