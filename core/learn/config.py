"""Training hyperparameters as plain data (no TensorFlow needed to read or validate them).

Each setting has one owner. This config holds how a run optimises (epochs, batch size, learning
rate, optimizer, ...). What the network *is* (architecture preset, augmentation, input size,
class names) belongs to the model spec (:class:`core.nets.models.ModelSpec`), so continuing a model
can never record an architecture it does not have.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from core.nets.precision import DEVICES, PRECISIONS, RESOLVED

OPTIMIZERS = ("adam", "sgd", "rmsprop")
#: Precisions a config may hold: what a user asks for, and what a finished run really used.
PRECISION_CHOICES = tuple(dict.fromkeys(PRECISIONS + RESOLVED))
#: Random seeds are 32-bit (what Keras and NumPy accept).
MAX_SEED = 2**32 - 1
#: Label smoothing for networks trained from scratch (see ``TrainConfig.label_smoothing``).
LABEL_SMOOTHING = 0.1
#: Fine-tuning a pretrained backbone uses this share of the configured learning rate.
FINE_TUNE_RATE = 0.02


@dataclass
class TrainConfig:
    """Hyperparameters of one training run (stored in the model file)."""

    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 5e-3  # the peak of the warm-up + cosine schedule
    optimizer: str = "adam"
    #: None: the preset's own (0.1 from scratch; 0 for the pretrained preset's head: with its
    #: dropout 0.5, 76.0 % against 74.0 % with 0.1 on the clothing photos, stratified 5-fold).
    label_smoothing: float | None = None
    val_split: float = 0.2
    seed: int = 42
    early_stopping: bool = True
    patience: int = 3
    #: Pretrained preset only: also train the top of the backbone on the images (slower, more
    #: accurate), at FINE_TUNE_RATE times the learning rate. Off: only the head is trained,
    #: on cached backbone features, in seconds.
    fine_tune: bool = False
    #: ``auto`` picks bfloat16 on CPUs that compute it natively, float16 on a GPU, float32
    #: elsewhere (:mod:`core.nets.precision`); a finished run records the precision it really used.
    precision: str = "auto"
    #: Where to train (see :data:`DEVICES`).
    devices: str = "auto"

    def __post_init__(self) -> None:
        self._check_types()
        if self.epochs < 1:
            raise ValueError("epochs must be at least 1")
        if self.batch_size < 1:
            raise ValueError("batch size must be at least 1")
        if not 0 < self.learning_rate < 10:
            raise ValueError("learning rate must be between 0 and 10")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}")
        if not 0 <= self.val_split < 1:
            raise ValueError("validation split must be between 0 and 1")
        if self.label_smoothing is not None and not 0 <= self.label_smoothing < 0.5:
            raise ValueError("label smoothing must be between 0 and 0.5")
        if self.patience < 1:
            raise ValueError("patience must be at least 1 epoch")
        if self.precision not in PRECISION_CHOICES:
            raise ValueError(f"precision must be one of {', '.join(PRECISION_CHOICES)}")
        if self.devices not in DEVICES:
            raise ValueError(f"devices must be one of {', '.join(DEVICES)}")
        if not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed must be a whole number from 0 to {MAX_SEED}")

    def _check_types(self) -> None:
        """Refuse values of the wrong kind (a stored model or a caller may hand in anything)."""
        whole = ("epochs", "batch_size", "seed", "patience")
        for name in whole:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{name.replace('_', ' ')} must be a whole number")
        for name in ("learning_rate", "val_split", "label_smoothing"):
            value = getattr(self, name)
            if value is None and name == "label_smoothing":
                continue
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ValueError(f"{name.replace('_', ' ')} must be a number")
            if not math.isfinite(value):
                raise ValueError(f"{name.replace('_', ' ')} must be a finite number")
        for name in ("early_stopping", "fine_tune"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name.replace('_', ' ')} must be true or false")
        if not isinstance(self.optimizer, str):
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}")
        for name, choices in (("precision", PRECISION_CHOICES), ("devices", DEVICES)):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be one of {', '.join(choices)}")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> TrainConfig:
        """A config from stored settings, ignoring keys this version does not know.

        Raises ValueError when a known setting has an impossible value.
        """
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        try:
            return cls(**known)  # type: ignore[arg-type]
        except TypeError as exc:
            raise ValueError(f"invalid training settings ({exc})") from None
