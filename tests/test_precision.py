"""Mixed precision: choosing it for the hardware, training in it, and models that stay float32."""

from __future__ import annotations

import numpy as np
import pytest

from core.learn.config import TrainConfig
from core.nets.precision import bfloat16_from_cpuinfo, resolve

X86_WITH = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni\n"
X86_AMX = "flags\t\t: fpu avx2 amx_tile amx_bf16 amx_int8\n"
X86_WITHOUT = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\nbugs\t\t: bf16x\n"
ARM_WITH = "processor\t: 0\nFeatures\t: fp asimd aes sha2 bf16 i8mm\n"


def test_native_bfloat16_is_read_from_the_cpu_flags():
    assert bfloat16_from_cpuinfo(X86_WITH)
    assert bfloat16_from_cpuinfo(X86_AMX)
    assert bfloat16_from_cpuinfo(ARM_WITH)
    assert not bfloat16_from_cpuinfo(X86_WITHOUT)  # the word on another line does not count
    assert not bfloat16_from_cpuinfo("")


def test_automatic_precision_follows_the_hardware_and_explicit_choices_are_kept():
    assert resolve("auto", gpus=1, native=False) == "float16"
    assert resolve("auto", gpus=0, native=True) == "bfloat16"
    assert resolve("auto", gpus=0, native=False) == "float32"
    assert resolve("float32", gpus=2, native=True) == "float32"
    assert resolve("bfloat16", gpus=0, native=False) == "bfloat16"
    with pytest.raises(ValueError, match="precision"):
        resolve("float8", gpus=0, native=True)
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(precision="half")
    with pytest.raises(ValueError, match="devices"):
        TrainConfig(devices="tpu")


def test_the_last_layer_and_so_the_loss_compute_in_float32():
    from core.data.images import InputSpec
    from core.nets.models import ModelSpec, build_model
    from core.nets.runtime import keras

    spec = ModelSpec("article", InputSpec(16), 3)
    model = build_model(spec, precision="bfloat16")
    assert model.get_layer("conv1").compute_dtype == "bfloat16"
    assert model.get_layer("classes").compute_dtype == "float32"
    assert all(w.dtype == "float32" for w in model.weights)  # variables stay float32
    assert model.output.dtype == "float32"
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored


@pytest.mark.slow
def test_a_model_trained_in_bfloat16_is_float32_and_classifies_the_same(pattern_dataset):
    from core.learn.training import Trainer
    from core.nets.models import build_model

    config = TrainConfig(
        epochs=6, batch_size=16, seed=3, early_stopping=False, precision="bfloat16"
    )
    result = Trainer(pattern_dataset, config).run()
    assert result.config.precision == "bfloat16"  # recorded as used
    assert result.model.dtype_policy.name == "float32"
    x = pattern_dataset.images.astype(np.float32)
    in_float32 = np.argmax(result.model.predict(x, verbose=0), axis=1)
    mixed = build_model(result.spec, precision="bfloat16")
    mixed.set_weights(result.model.get_weights())
    in_bfloat16 = np.argmax(mixed.predict(x, verbose=0), axis=1)
    assert (in_float32 == in_bfloat16).mean() >= 0.95
    assert (in_float32 == pattern_dataset.labels).mean() >= 0.9  # it did learn


@pytest.mark.slow
def test_float32_is_used_when_asked(pattern_dataset):
    from core.learn.training import Trainer

    config = TrainConfig(epochs=1, batch_size=16, seed=3, early_stopping=False, precision="float32")
    result = Trainer(pattern_dataset, config).run()
    assert result.config.precision == "float32"
    assert result.model.get_layer("conv1").compute_dtype == "float32"


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_divergence_and_early_stopping_work_in_every_precision(pattern_dataset, precision):
    from core.errors import TrainingError
    from core.learn.training import Trainer

    wild = TrainConfig(
        epochs=20, batch_size=4, learning_rate=9.0, early_stopping=False, precision=precision
    )
    with pytest.raises(TrainingError, match="diverged"):
        Trainer(pattern_dataset, wild).run()
    # An easy dataset learnt long before 60 epochs: the validation loss stops improving, so
    # the run ends early and keeps its best weights.
    stalled = TrainConfig(epochs=60, batch_size=16, patience=1, seed=2, precision=precision)
    result = Trainer(pattern_dataset, stalled).run()
    assert result.config.precision == precision
    assert result.outcome == "early-stopped" and len(result.history) < 60
