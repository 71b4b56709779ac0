"""What the packaged app leaves out of TensorFlow, and stand-ins for what TensorFlow imports anyway.

``build.spec`` drops these files to keep the folder laptop-sized (measured: they are never
loaded by training, classifying, exporting or the GUI). TensorFlow's public API imports the
profiler client eagerly, so the frozen app registers an empty module in its place before
TensorFlow is imported; using it raises an error that says what is missing. Outside the frozen
app nothing is replaced. No Qt here: the launcher calls this before choosing a front end.
"""

from __future__ import annotations

import sys
import types

#: Python modules left out of the build; each is imported by TensorFlow at start-up, so it gets
#: a stand-in. The value says what the module did, for the error message.
TRIMMED_MODULES: dict[str, str] = {
    "tensorflow.python.profiler.internal._pywrap_profiler_plugin": (
        "the TensorFlow profiler client (tf.profiler.experimental.client)"
    ),
}

#: Native files left out (path endings inside the bundle): XLA's Python op wrappers, StableHLO,
#: and the profiler client's library. No code path of the app loads them.
TRIMMED_BINARIES: tuple[str, ...] = (
    "tensorflow/compiler/tf2xla/ops/_xla_ops.so",
    "tensorflow/compiler/mlir/stablehlo/stablehlo_extension.so",
    "tensorflow/python/profiler/internal/_pywrap_profiler_plugin.so",
    "tensorflow/python/framework/lib_native_proto_caster.so",
)


def _stand_in(name: str, what: str) -> types.ModuleType:
    module = types.ModuleType(name, f"Left out of the packaged CNN Studio: {what}.")

    def missing(attribute: str) -> object:
        # AttributeError, so that probing with hasattr/getattr(..., default) still works.
        raise AttributeError(f"{what} is not part of the packaged CNN Studio ({name}.{attribute})")

    module.__getattr__ = missing  # type: ignore[method-assign]
    return module


def install_stand_ins(frozen: bool | None = None) -> list[str]:
    """In the frozen app, register a stand-in for each left-out module; returns their names.

    Called on the main thread before anything imports TensorFlow. ``frozen`` defaults to
    whether this is the packaged app (tests pass True).
    """
    if not (getattr(sys, "frozen", False) if frozen is None else frozen):
        return []
    installed = []
    for name, what in TRIMMED_MODULES.items():
        if name not in sys.modules:
            sys.modules[name] = _stand_in(name, what)
            installed.append(name)
    return installed
