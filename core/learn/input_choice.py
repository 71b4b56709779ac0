"""Choosing how a scanned folder is read: the settings advised for its data (or the demo's),
those of the preset the user chose, and the size, colour and crop the user gives over them.

Plain data and NumPy only (no TensorFlow): the session (:mod:`core.session`) calls it while
loading a folder, on the thread that loads.
"""

from __future__ import annotations

from core.data.demo import is_demo
from core.data.images import InputSpec
from core.data.scan import DatasetIndex
from core.errors import CnnStudioError
from core.learn.advice import Advice, advise, demo_advice, for_preset, measure


def choose_input(
    index: DatasetIndex,
    spec: InputSpec | None = None,
    preset: str | None = None,
    *,
    size: int | None = None,
    color: bool | None = None,
    crop: bool | None = None,
) -> tuple[Advice, InputSpec]:
    """The advice for the folder of ``index`` (for ``preset`` when the user chose one) and
    the input to decode it at: ``spec`` when given, else the advised one with ``size``,
    ``color`` or ``crop`` overriding its parts. Raises :class:`CnnStudioError` for an input
    that cannot be."""
    advice = demo_advice() if is_demo(index.root, index.class_names) else advise(measure(index))
    if preset is not None:
        advice = for_preset(advice, preset)
    if spec is None:
        chosen = advice.spec
        try:
            spec = InputSpec(
                size if size is not None else chosen.size,
                chosen.color if color is None else color,
                chosen.crop if crop is None else crop,
            )
        except ValueError as exc:
            raise CnnStudioError(str(exc)) from None
    return advice, spec
