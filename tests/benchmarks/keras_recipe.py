"""What a user would write instead of CNN Studio: Keras's transfer-learning recipe, run as its
own process by ``bench_photos --versus-keras``.

    python -m tests.benchmarks.keras_recipe TRAIN_FOLDER TEST_FOLDER WEIGHTS SEED

Frozen ``keras.applications.MobileNetV2`` α 0.35 from the shipped ImageNet weights (no
download), ``image_dataset_from_directory`` at 224 px with a 20 % validation subset, the
pooled features through dropout into a dense layer, Adam 1e-3, 10 epochs. Prints one line of
JSON: the accuracy on TEST_FOLDER (photos it never saw).
"""

from __future__ import annotations

import json
import sys


def main(train: str, test: str, weights: str, seed: int) -> None:
    import keras

    keras.utils.set_random_seed(seed)
    size = (224, 224)
    train_ds, val_ds = keras.utils.image_dataset_from_directory(
        train, validation_split=0.2, subset="both", seed=seed, image_size=size, batch_size=32
    )
    test_ds = keras.utils.image_dataset_from_directory(
        test, image_size=size, batch_size=32, shuffle=False
    )
    classes = len(train_ds.class_names)
    base = keras.applications.MobileNetV2(
        input_shape=(*size, 3), alpha=0.35, include_top=False, weights=weights
    )
    base.trainable = False
    inputs = keras.Input((*size, 3))
    x = keras.applications.mobilenet_v2.preprocess_input(inputs)
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(classes, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(train_ds, validation_data=val_ds, epochs=10, verbose=0)
    _, accuracy = model.evaluate(test_ds, verbose=0)
    print(json.dumps({"accuracy": float(accuracy)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
