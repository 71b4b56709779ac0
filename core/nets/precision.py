"""Which floating-point precision training computes in, chosen for the hardware.

Many current CPUs compute bfloat16 natively (x86 ``avx512_bf16`` or ``amx_bf16``, Arm ``bf16``);
there Keras's ``mixed_bfloat16`` policy trains the article's CNN about twice as fast at the same
accuracy. Where bfloat16 is only emulated it is much slower, so *automatic* picks it only where
the CPU has it, ``mixed_float16`` on a CUDA GPU (the usual choice there), and float32 elsewhere.

Mixed policies keep every weight in float32 (only the arithmetic is in 16 bits) and the network's
last layer, its softmax and the loss stay in float32 (see :func:`core.nets.models.build_model`), so
a model trained in bfloat16 saves, loads, classifies and exports exactly like any other: the
network is always rebuilt in float32 after training. Needs neither TensorFlow nor Qt: callers pass
the GPU count in.
"""

from __future__ import annotations

import functools
import platform
import subprocess
import sys
from pathlib import Path

#: Where training runs (plain data here, beside the precisions, so that a config can name it
#: without TensorFlow; :mod:`core.nets.devices` places a run): ``auto`` (every GPU when there are
#: several, else TensorFlow's own placement), ``cpu`` (the CPU only) or ``all`` (every GPU, or every
#: logical CPU device when there is no GPU) through ``tf.distribute.MirroredStrategy``.
DEVICES = ("auto", "cpu", "all")
#: What a user may ask for (``--precision``, the app's setting).
PRECISIONS = ("auto", "float32", "bfloat16")
#: What a run can really use; a stored config holds one of these after training.
RESOLVED = ("float32", "bfloat16", "float16")
#: Keras dtype policy for each resolved precision.
KERAS_POLICY = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}

_X86_FLAGS = {"avx512_bf16", "amx_bf16"}


def _cpuinfo_flags(text: str) -> set[str]:
    """Every CPU feature word in a Linux ``/proc/cpuinfo`` (x86 ``flags``, Arm ``Features``)."""
    words: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            words.update(value.split())
    return words


def bfloat16_from_cpuinfo(text: str) -> bool:
    """True when a ``/proc/cpuinfo`` text names native bfloat16 arithmetic."""
    flags = _cpuinfo_flags(text)
    return bool(flags & _X86_FLAGS) or "bf16" in flags


@functools.cache
def native_bfloat16() -> bool:
    """True when this CPU computes bfloat16 natively (read once, never guessed).

    Linux: ``/proc/cpuinfo``. macOS: ``sysctl hw.optional.arm.FEAT_BF16`` (Apple M2 and newer).
    Elsewhere (Windows) the answer is False, so *automatic* stays with float32; choosing
    bfloat16 explicitly still works.
    """
    if sys.platform.startswith("linux"):
        try:
            return bfloat16_from_cpuinfo(Path("/proc/cpuinfo").read_text(errors="replace"))
        except OSError:
            return False
    if sys.platform == "darwin" and platform.machine() == "arm64":
        try:
            done = subprocess.run(
                ["/usr/sbin/sysctl", "-n", "hw.optional.arm.FEAT_BF16"],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return False
        return done.stdout.strip() == "1"
    return False


def resolve(requested: str, gpus: int, native: bool | None = None) -> str:
    """The precision a run uses: one of :data:`RESOLVED`.

    ``auto``: float16 with a GPU, bfloat16 on a CPU that has it natively, float32 otherwise.
    An explicit choice is kept (``bfloat16`` on a CPU without it is slow, but it is asked for).
    """
    if requested not in (*PRECISIONS, *RESOLVED):
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}")
    if requested != "auto":
        return requested
    if gpus > 0:
        return "float16"
    has = native_bfloat16() if native is None else native
    return "bfloat16" if has else "float32"


def describe(precision: str) -> str:
    """A short phrase for the user: what a resolved precision means."""
    return {
        "float32": "float32",
        "bfloat16": "bfloat16 (mixed, weights in float32)",
        "float16": "float16 (mixed, weights in float32)",
    }.get(precision, precision)
