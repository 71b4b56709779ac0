"""Choosing how a scanned folder is read: the settings advised for its data (or the demo's),
those of the preset the user chose, and the size, colour and crop the user gives over them.

The session (:mod:`core.session`) calls it while loading a folder, on the thread that loads.
Where the folder's kind is unclear and the user chose nothing, the candidates are tried on the
folder (:mod:`core.learn.trial`, which imports TensorFlow then); otherwise no TensorFlow.
"""

from __future__ import annotations

from core.data.demo import is_demo
from core.data.images import InputSpec
from core.data.scan import DatasetIndex
from core.errors import CnnStudioError
from core.learn.advice import Advice, advise, demo_advice, for_preset, measure
from core.learn.trial import choose_by_trial
from core.progress import CancelToken, ProgressCallback, no_progress


def choose_input(
    index: DatasetIndex,
    spec: InputSpec | None = None,
    preset: str | None = None,
    *,
    size: int | None = None,
    color: bool | None = None,
    crop: bool | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    use_cache: bool = True,
) -> tuple[Advice, InputSpec]:
    """The advice for the folder of ``index`` (for ``preset`` when the user chose one) and
    the input to decode it at: ``spec`` when given, else the advised one with ``size``,
    ``color`` or ``crop`` overriding its parts. Raises :class:`CnnStudioError` for an input
    that cannot be. Where the user chose nothing (no ``spec``, ``preset``, ``size``,
    ``color`` or ``crop``) and the folder's kind is unclear, the advice is measured on the
    folder (``progress``, ``cancel`` and ``use_cache`` are the trial's)."""
    chose = spec is not None or preset is not None or (size, color, crop) != (None, None, None)
    if is_demo(index.root, index.class_names):
        advice = demo_advice()
    elif chose or not index.can_train:
        advice = advise(measure(index))
    else:
        advice, _ = choose_by_trial(index, measure(index), progress, cancel, use_cache)
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
