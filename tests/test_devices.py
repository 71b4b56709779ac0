"""Training on several devices through tf.distribute.MirroredStrategy, tested on the CPU.

TensorFlow can split the CPU into logical devices before its runtime starts, so a child process
does that and trains with ``devices="all"``: two replicas, each computing half of every batch.
The model it saves must open and classify in this process like any other.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import make_pattern_dataset

ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    from core.learn.config import TrainConfig
    from core.data.images import InputSpec
    from core.session import Session

    folder, out, preset = sys.argv[1:4]

    class Observer:
        replicas = []

        def run_started(self, total, batches):  # called inside fit, in the strategy's scope
            self.replicas.append(tf.distribute.get_strategy().num_replicas_in_sync)

        def batch_ended(self, *args):
            pass

        def epoch_ended(self, *args):
            pass

    session = Session(use_cache=False)
    session.load_dataset(folder, InputSpec(16))
    observer = Observer()
    config = TrainConfig(epochs=4, batch_size=16, seed=1, devices="all")
    summary = session.train(config, preset, observer=observer)
    session.save(out)
    predictions, _ = session.classify([folder], 1)
    kept = session._model.keras_model  # what the app goes on with
    mirrored = [w for w in kept.weights if isinstance(w.value, tf.distribute.DistributedValues)]
    print(json.dumps({
        "mirrored": len(mirrored),
        "replicas": observer.replicas,
        "devices": list(summary.devices),
        "accuracy": summary.evaluation["accuracy"],
        "top1": {p.path: p.labels[0][0] for p in predictions},
    }))
    """
)


def train_on_two_replicas(folder: Path, out: Path, preset: str) -> dict:
    """Train ``preset`` on ``folder`` in a child process with the CPU split in two and
    ``devices="all"``; the model goes to ``out``. Returns the child's report."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder), str(out), preset],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["article", "deeper-bn"])
def test_training_on_two_replicas_saves_a_model_that_classifies_like_any_other(tmp_path, preset):
    from core.session import Session

    folder = make_pattern_dataset(tmp_path / "patterns")  # 72 images: uneven last batches
    out = tmp_path / "two.cnnmodel"
    report = train_on_two_replicas(folder, out, preset)
    assert report["replicas"] == [2]  # fit ran under a strategy with two replicas
    assert report["mirrored"] == 0  # the app keeps an ordinary model, rebuilt outside it
    assert len(report["devices"]) == 2 and all("CPU" in d for d in report["devices"])
    assert report["accuracy"] >= 0.8

    session = Session(use_cache=False)
    opened = session.open(out)
    assert opened.preset == preset
    predictions, failures = session.classify([folder], 1)
    assert not failures
    assert {p.path: p.labels[0][0] for p in predictions} == report["top1"]


def test_one_device_unless_asked_for_more():
    from core.nets.devices import placement
    from core.nets.runtime import tf

    auto = placement("auto")  # this machine: no GPU, one CPU device
    assert auto.replicas == 1
    assert auto.strategy is tf.distribute.get_strategy()
    cpu = placement("cpu")
    assert cpu.replicas == 1 and "CPU" in cpu.devices[0]
    with pytest.raises(ValueError, match="devices"):
        placement("tpu")
