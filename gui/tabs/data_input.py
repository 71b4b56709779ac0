"""The Data tab's "Model input" box: the image size, colour, crop and validation share.

It shows the input of the dataset on show (set by code, which does not count as a user change)
and emits ``changed`` when the user changes the size, colour or crop, so the tab can load the
folder again at the new input. Built and called on the GUI thread only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QFormLayout, QGroupBox, QSpinBox, QWidget

from core.data.images import InputSpec
from core.state import DatasetView

VALIDATION_SHARE_TIP = (
    "Share of each class held back from training to check the model fairly (0.2 = one image "
    "in five). The accuracy you see is measured on these images."
)


@contextlib.contextmanager
def _signals_blocked(*widgets: QWidget) -> Iterator[None]:
    """Block the widgets' signals while code (not the user) sets their values."""
    previous = [w.blockSignals(True) for w in widgets]
    try:
        yield
    finally:
        for widget, was in zip(widgets, previous, strict=True):
            widget.blockSignals(was)


class InputSettings(QGroupBox):
    """The size, colour and crop every image is read at, and the validation share the Train
    tab uses. ``changed`` is emitted when the user changes the size, colour or crop."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__("Model input")
        self.size_spin = QSpinBox(minimum=8, maximum=512, value=28, suffix=" px")
        self.size_spin.setToolTip(
            "Every image is resized to this square size for the model. Small sizes train "
            "fast; raise it only when the details that tell the classes apart vanish in the "
            "pictures on the right."
        )
        self.color_check = QCheckBox("Keep colour")
        self.color_check.setToolTip(
            "Untick to use gray levels only: faster, and better when colour does not tell "
            "the classes apart (digits, drawings). Keep it for photos."
        )
        self.crop_check = QCheckBox("Centre square only")
        self.crop_check.setToolTip(
            "Use the middle square of each image, so objects keep their shape (best for "
            "photos); unticked, the whole image is squeezed into a square"
        )
        self.val_spin = QDoubleSpinBox(minimum=0.0, maximum=0.5, singleStep=0.05, value=0.2)
        self.val_spin.setToolTip(VALIDATION_SHARE_TIP)
        for widget in (self.size_spin, self.color_check, self.crop_check):
            signal = widget.valueChanged if isinstance(widget, QSpinBox) else widget.toggled
            signal.connect(self.changed)
        form = QFormLayout(self)
        form.addRow("Image &size", self.size_spin)
        form.addRow("Colour", self.color_check)
        form.addRow("Crop", self.crop_check)
        form.addRow("Va&lidation share", self.val_spin)  # Alt+V opens the View menu

    def spec(self) -> InputSpec:
        """The input on screen (what a reload with the user's settings asks for)."""
        return InputSpec(
            size=self.size_spin.value(),
            color=self.color_check.isChecked(),
            crop=self.crop_check.isChecked(),
        )

    def show_dataset(self, dataset: DatasetView) -> None:
        """Show ``dataset``'s input, and whether its validation share applies."""
        self._show_validation_share(dataset)
        self.show_spec(dataset)

    def _show_validation_share(self, dataset: DatasetView) -> None:
        """The validation share does nothing when the folder brings its own validation
        images: disabled, and its tooltip says why."""
        given = dataset.given_validation
        self.val_spin.setEnabled(not given)
        self.val_spin.setToolTip(
            "Not used: the folder's own validation images check the model."
            if given
            else VALIDATION_SHARE_TIP
        )

    def show_spec(self, dataset: DatasetView) -> None:
        """Put ``dataset``'s input settings on screen without it counting as a user change."""
        with _signals_blocked(self.size_spin, self.color_check, self.crop_check):
            self.size_spin.setValue(dataset.spec.size)
            self.color_check.setChecked(dataset.spec.color)
            self.crop_check.setChecked(dataset.spec.crop)
