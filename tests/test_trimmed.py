"""The packaged app leaves parts of TensorFlow out (build.spec); gui.trimmed stands in for them.

Run in a fresh process as the frozen app would: stand-ins registered first, then TensorFlow is
imported and a model trained and converted to TFLite. None of the left-out native files may be
loaded, which is what makes leaving them out of the build safe.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gui.trimmed import TRIMMED_BINARIES, TRIMMED_MODULES, install_stand_ins

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import json, sys
from gui.trimmed import install_stand_ins
installed = install_stand_ins(frozen=True)
from core.nets.runtime import keras, tf
import numpy as np
model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                          keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(np.random.rand(16, 8, 8, 1), np.arange(16) % 2, epochs=1, verbose=0)
converter = tf.lite.TFLiteConverter.from_keras_model(model)
flatbuffer = converter.convert()
with open("/proc/self/maps") as maps:
    mapped = sorted({line.split()[-1] for line in maps if ".so" in line})
import tensorflow.python.profiler.internal._pywrap_profiler_plugin as plugin
try:
    plugin.trace
    probe = "no error"
except AttributeError as exc:
    probe = str(exc)
print(json.dumps({"installed": installed, "mapped": mapped, "tflite": len(flatbuffer),
                  "probe": probe}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_tensorflow_trains_and_converts_without_the_left_out_files():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["installed"] == list(TRIMMED_MODULES)
    assert report["tflite"] > 0
    loaded = [path for path in report["mapped"] if path.endswith(TRIMMED_BINARIES)]
    assert loaded == []
    assert any("libtensorflow" in path for path in report["mapped"])  # the check saw TF's libs
    assert "not part of the packaged CNN Studio" in report["probe"]


def test_nothing_is_replaced_outside_the_packaged_app():
    assert install_stand_ins() == []  # tests do not run frozen
