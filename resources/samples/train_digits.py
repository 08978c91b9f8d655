"""Train the bundled sample: a small CNN on scikit-learn's digits (8x8 handwritten digits).

Writes, beside this script: digits.keras, digits_float.tflite, digits_int8.tflite,
digits_samples.csv (ten held-out test images, one per row, pixel values 0..1),
digits_samples_labels.txt, labels.txt and digits_accuracy.json; and the data the Optimize page
preselects for the sample: digits_calib.npz (300 labelled training images) and digits_eval.npz
(all 450 held-out test images with labels). Pixels are stored as float16, which holds the
digits' k/16 grey levels exactly.
Run: make sample  (or .venv/bin/python resources/samples/train_digits.py); with --data-only it
writes only the data files and leaves the trained models as they are.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 7
CALIBRATION_SAMPLES = 300


def split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's digits scaled to 0..1, 25% held out for test (x_train, x_test, y_train, y_test)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]
    y = digits.target.astype("int64")
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=SEED, stratify=y)
    return x_train, x_test, y_train, y_test


def write_data(x_train: np.ndarray, x_test: np.ndarray, y_train: np.ndarray, y_test: np.ndarray) -> None:
    """The sample's calibration and evaluation data, small: compressed, float16 pixels, uint8 labels."""
    for name, x, y in (
        ("digits_calib.npz", x_train[:CALIBRATION_SAMPLES], y_train[:CALIBRATION_SAMPLES]),
        ("digits_eval.npz", x_test, y_test),
    ):
        pixels = x.astype(np.float16)
        assert np.array_equal(pixels.astype(np.float32), x), "float16 must hold the pixels exactly"
        np.savez_compressed(HERE / name, x=pixels, y=y.astype(np.uint8))


def build(keras: Any, batch_size: int | None) -> Any:
    inputs = keras.Input((8, 8, 1), batch_size=batch_size, name="image")
    h = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(inputs)
    h = keras.layers.MaxPooling2D(2, name="pool1")(h)
    h = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(h)
    h = keras.layers.MaxPooling2D(2, name="pool2")(h)
    h = keras.layers.Flatten(name="flatten")(h)
    h = keras.layers.Dense(32, activation="relu", name="dense")(h)
    outputs = keras.layers.Dense(10, activation="softmax", name="digit")(h)
    return keras.Model(inputs, outputs, name="digits_cnn")


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    x_train, x_test, y_train, y_test = split()
    write_data(x_train, x_test, y_train, y_test)
    if "--data-only" in sys.argv[1:]:
        return
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(SEED)

    model = build(keras, batch_size=None)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=40, batch_size=32, verbose=0, validation_split=0.1)
    model.save(HERE / "digits.keras")

    # A microcontroller infers one sample at a time: export with the batch fixed to 1.
    single = build(keras, batch_size=1)
    single.set_weights(model.get_weights())

    def convert(int8: bool) -> bytes:
        converter = tf.lite.TFLiteConverter.from_keras_model(single)
        if int8:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: ([x_train[i : i + 1]] for i in range(300))
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        return converter.convert()  # type: ignore[no-any-return]

    results = {"data": "scikit-learn digits (1797 images, 8x8), 25% held out for test", "test_samples": len(y_test)}
    results["keras_accuracy"] = float(np.mean(np.argmax(model.predict(x_test, verbose=0), 1) == y_test))
    for name, int8 in (("float", False), ("int8", True)):
        data = convert(int8)
        (HERE / f"digits_{name}.tflite").write_bytes(data)
        interpreter = tf.lite.Interpreter(model_content=data)
        interpreter.allocate_tensors()
        inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
        correct = 0
        for image, label in zip(x_test, y_test, strict=True):
            sample = image[None]
            if int8:
                scale, zero = inp["quantization"]
                sample = np.clip(np.round(sample / scale + zero), -128, 127).astype(np.int8)
            interpreter.set_tensor(inp["index"], sample)
            interpreter.invoke()
            correct += int(np.argmax(interpreter.get_tensor(out["index"])) == label)
        results[f"{name}_tflite_accuracy"] = correct / len(y_test)
    (HERE / "digits_accuracy.json").write_text(json.dumps(results, indent=2) + "\n")
    pick = [int(np.flatnonzero(y_test == d)[0]) for d in range(10)]
    np.savetxt(HERE / "digits_samples.csv", x_test[pick].reshape(10, -1), fmt="%.4f", delimiter=",")
    (HERE / "digits_samples_labels.txt").write_text("\n".join(str(int(y_test[i])) for i in pick) + "\n")
    (HERE / "labels.txt").write_text("\n".join(str(d) for d in range(10)) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
