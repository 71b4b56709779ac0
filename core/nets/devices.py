"""Where training runs: one device, or several through TensorFlow's ``MirroredStrategy``.

A laptop trains on its CPU (or its one GPU) with TensorFlow's default placement. On a machine
with several GPUs the same ``cnn-studio train`` copies the model onto each of them and splits
every batch between them with ``tf.distribute.MirroredStrategy``: TensorFlow's own
data-parallel training, nothing home-made. The model that comes out is an ordinary one (the
session rebuilds it outside the strategy), so it saves, opens and classifies like any other.

Runs on the engine thread, like all TensorFlow work.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.nets.precision import DEVICES
from core.nets.runtime import tf


@dataclass(frozen=True)
class Placement:
    """The strategy a run trains under and the devices it uses (names as TensorFlow gives)."""

    strategy: tf.distribute.Strategy
    devices: tuple[str, ...]

    @property
    def replicas(self) -> int:
        return len(self.devices)


def gpu_count() -> int:
    """Logical GPUs TensorFlow can use (0 on a CPU-only build or machine)."""
    return len(tf.config.list_logical_devices("GPU"))


def placement(devices: str) -> Placement:
    """The strategy for a ``devices`` setting (see :data:`core.nets.precision.DEVICES`).

    ``auto``: MirroredStrategy over every GPU when there are several, else TensorFlow's default
    (its one GPU, or the CPU). ``cpu``: the first CPU device only. ``all``: every GPU, or every
    logical CPU device when there is no GPU (one CPU device means no strategy at all).
    """
    if devices not in DEVICES:
        raise ValueError(f"devices must be one of {', '.join(DEVICES)}")
    gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
    if devices == "cpu":
        return Placement(tf.distribute.OneDeviceStrategy(cpus[0]), (cpus[0],))
    chosen = (gpus or cpus) if devices == "all" else (gpus if len(gpus) > 1 else [])
    if len(chosen) > 1:
        return Placement(tf.distribute.MirroredStrategy(chosen), tuple(chosen))
    default = tf.distribute.get_strategy()
    return Placement(default, tuple(chosen) or ((gpus or cpus)[:1]))
