"""What each layer of a network computes for one image, as plain data, and the words for it.

:func:`core.use.network_view.layer_views` (which needs TensorFlow) fills these objects on the
engine's thread; the GUI's "Inside the network" tab and tests read them on any thread. They are
frozen and their arrays read-only, so they can be handed between threads. The sentences that
tie each kind of layer to the article CNN Studio grew from are here, in one place
(:data:`LAYER_WORDS`), with each row's title in plain words (:data:`LAYER_TITLES`: never a
layer's internal Keras name). Needs nothing but NumPy and the presets' names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: The kinds of layer row the view shows.
KINDS = ("input", "conv", "pool", "dense", "output", "other")

#: One plain sentence per kind of layer, filled in with :meth:`str.format` (see :func:`words`).
LAYER_WORDS: dict[str, str] = {
    "input": "The image as the network sees it: {size}x{size} pixels in {colour}, each a "
    "number from 0 (dark) to 255 (bright), scaled to a small range before the first layer.",
    "conv_first": "A convolution slides each of its {filters} small {kernel}x{kernel} filters "
    "(grids of weights learnt in training, shown below) over the image; at every position it "
    "adds up the pixels under the filter, each times its weight, so one feature map per "
    "filter lights up where the image matches that filter: the filters are learnt and applied "
    "in parallel.",
    "conv": "This convolution's {filters} {kernel}x{kernel} filters slide over the feature maps "
    "of the layer before instead of over pixels, so they respond to combinations of the "
    "simpler patterns found there (edges into corners and curves, those into parts).",
    "filters": "The learnt {kernel}x{kernel} filters of the maps above, in the same order: "
    "bright weights add the pixel under them, dark ones subtract it, mid grey ignores it.",
    "pool": "Max pooling keeps only the strongest value of each {pool}x{pool} patch, so the "
    "maps shrink to {rows}x{columns} but keep what was found; a pattern that moves by a pixel "
    "usually stays in the same patch, which makes the model tolerant to small shifts.",
    "global_pool": "Global average pooling turns each of the {channels} feature maps into one "
    "number, its average, so where in the image a pattern was stops mattering, only how much "
    "of it there was; the strongest are shown.",
    "flatten": "Flatten lays the {values} numbers of all feature maps out in one long row, so "
    "the dense layer after it can weigh every one of them.",
    "dense": "Each of the {units} units of this dense layer weighs every number of the layer "
    "before and adds them up; these are the units that respond most strongly to this image.",
    "output": "The output layer weighs the numbers before it once more, one sum per class, "
    "and turns the sums into probabilities that add up to 100 %.",
    "backbone_first": "The first convolution of the pretrained network, "
    "{network_words}, which learnt to see from a million photos and is not changed by "
    "training here: its "
    "{filters} {kernel}x{kernel} filters (below) look for edges and colour changes.",
    "backbone_block": "Block {block} of {blocks} of the pretrained network widens its input to "
    "{channels} feature maps; the deeper the block, the smaller the maps and the larger and "
    "more specific the parts of objects its maps respond to.",
    "backbone_last": "The pretrained network's last convolution: {channels} feature maps, "
    "each a few pixels across, that say which kinds of object part were found and roughly "
    "where.",
    "other": "{name} passes the values on in another shape.",
    "dead_filters": "{which} ({count} of the {filters}, shown last) {have} every weight "
    "practically 0: plain mid grey, with a flat black map whatever the image ({why}).",
}

#: One title per kind of layer row: what it does in plain words, then the term for it, filled
#: in with :meth:`str.format` (see :func:`title`). Internal layer names never appear in them.
LAYER_TITLES: dict[str, str] = {
    "input": "Input: {size}x{size} pixels, {colour}",
    "conv": "Find patterns (convolution {number}): {filters} filters of {kernel}x{kernel}{after}",
    "backbone_first": "{network}, first convolution: {filters} filters of {kernel}x{kernel}{after}",
    "backbone_block": "{network}, block {block} of {blocks}: {filters} filters of "
    "{kernel}x{kernel}{after}",
    "backbone_last": "{network}, last convolution: {filters} filters of {kernel}x{kernel}{after}",
    "pool": "Shrink the maps to {rows}x{columns} ({kind} pooling {pool}x{pool})",
    "flatten": "Lay out in one row (flatten): {values} numbers",
    "dense": "Weigh it all up (dense layer): {units} units",
    "global_pool": "Average over the picture (global average pooling): {channels} numbers",
    "output": "The answer (output layer): {count} classes",
    "other": "{name}",
}
#: Why a first convolution's filters can be all 0, by where its weights come from.
DEAD_WHY = {
    "conv_first": "they fell out of use while the network was trained",
    "backbone_first": "they came that way in the ImageNet weights of {network}, "
    "which CNN Studio ships unchanged",
}


def words(key: str, **values: object) -> str:
    """The sentence :data:`LAYER_WORDS` holds for ``key``, filled in with ``values``."""
    return LAYER_WORDS[key].format(**values)


def title(key: str, **values: object) -> str:
    """The title :data:`LAYER_TITLES` holds for ``key``, filled in with ``values``."""
    return LAYER_TITLES[key].format(**values)


def numbers_in_words(numbers: list[int]) -> str:
    """``[4, 6, 8]`` as "#4, #6 and #8", the way the tab captions filters."""
    said = [f"#{n}" for n in numbers]
    return said[0] if len(said) == 1 else f"{', '.join(said[:-1])} and {said[-1]}"


@dataclass(frozen=True, eq=False)
class LayerView:
    """What one layer computed for one image.

    ``maps``: for convolutions and pooling, up to ``max_maps`` feature maps as uint8 grey
    images (n, rows, columns), each stretched from its own lowest to highest value, and
    ``channels`` says which of the layer's ``total`` channels they are (for a convolution the
    most active, strongest first; a pooling layer shows the channels of the convolution
    before it); ``peaks`` are the maps' highest values before stretching. ``filters``: the
    first convolution's learnt filters for those same channels as uint8 images (n, k, k, 1|3),
    mid grey for a weight of 0. ``units``: for dense and global pooling layers the strongest
    (name, activation) pairs, strongest first; for the output layer every (class,
    probability), most likely first. ``image``: the input layer's uint8 pixels.
    """

    name: str
    kind: str
    title: str
    shape: tuple[int, ...]
    sentence: str
    total: int = 0
    maps: np.ndarray | None = None
    channels: tuple[int, ...] = ()
    peaks: tuple[float, ...] = ()
    filters: np.ndarray | None = None
    filters_sentence: str = ""
    units: tuple[tuple[str, float], ...] = ()
    image: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown layer kind {self.kind!r}; one of {', '.join(KINDS)}")
        for array in (self.maps, self.filters, self.image):
            if array is not None:
                array.flags.writeable = False

    @property
    def shown(self) -> str:
        """How many maps or units are shown of how many, in words ("" when nothing is)."""
        if self.maps is not None and self.total:
            count = len(self.maps)
            if count == self.total:
                return f"all {count} feature maps"
            if self.kind == "conv":
                return f"the {count} most active of {self.total} feature maps"
            return f"the same {count} of {self.total} feature maps as above"
        if self.units and self.kind != "output" and self.total:
            return f"the {len(self.units)} strongest of {self.total} units"
        return ""


@dataclass(frozen=True, eq=False)
class NetworkView:
    """Every shown layer of a model for one image (``source`` names it), in order, and the
    ``model_generation`` of the session's model that computed it."""

    source: str
    layers: tuple[LayerView, ...]
    model_generation: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def of_kind(self, kind: str) -> list[LayerView]:
        """The layers of ``kind``, in order."""
        return [layer for layer in self.layers if layer.kind == kind]

    @property
    def answer(self) -> tuple[str, float] | None:
        """The model's top class and its probability, from the output layer."""
        outputs = self.of_kind("output")
        return outputs[-1].units[0] if outputs and outputs[-1].units else None


def stretch(maps: np.ndarray) -> np.ndarray:
    """Each map of ``maps`` (n, rows, columns) stretched from its lowest to its highest value
    onto 0..255 uint8; a flat map (or one of NaNs) becomes black."""
    maps = np.nan_to_num(np.asarray(maps, np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    low = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - low
    scaled = np.divide(maps - low, span, out=np.zeros_like(maps), where=span > 0)
    return np.round(scaled * 255).astype(np.uint8)


def weights_image(kernels: np.ndarray) -> np.ndarray:
    """Filters (n, k, k, channels) as uint8 images with 128 for a weight of 0, the largest
    absolute weight of all of them at 0 or 255, so filters can be compared with each other."""
    kernels = np.nan_to_num(np.asarray(kernels, np.float64))
    largest = float(np.abs(kernels).max()) if kernels.size else 0.0
    if largest == 0:
        return np.full(kernels.shape, 128, np.uint8)
    return np.clip(np.round(128 + 127 * kernels / largest), 0, 255).astype(np.uint8)


__all__ = ["KINDS", "LAYER_WORDS", "LayerView", "NetworkView", "stretch", "weights_image", "words"]
