"""Which epoch's weights a training run kept, in plain words.

Early stopping (:mod:`core.learn.training`) gives the model back the weights of its best epoch
(the lowest validation loss) when the run ends, so after a run that went on past it the last
epoch's figures are not the model's. The command line's summary line, the app's final status
line and its Results page all say so with :func:`kept_epoch_in_words`. Plain Python with no
imports of the engine, so the widgets may use it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def kept_epoch_in_words(
    best_epoch: int | None, history: Sequence[Mapping[str, float]]
) -> str | None:
    """Says which epoch's weights the model kept ("kept the weights of epoch 17 of 22, the
    best on the validation images") when early stopping gave it an earlier epoch's weights
    than its last, so the last epoch's figures are not the model's; None when it kept its
    last epoch's (or nothing is known)."""
    epochs = len(history)
    if best_epoch is None or not 1 <= best_epoch < epochs:
        return None
    judged = "validation" if "val_loss" in history[best_epoch - 1] else "training"
    return f"kept the weights of epoch {best_epoch} of {epochs}, the best on the {judged} images"
