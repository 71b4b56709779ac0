"""Heat maps as plain data: resampling, the peak, colouring and overlays (NumPy only).

:mod:`core.use.explain` computes Grad-CAM maps with TensorFlow; everything a front end does with a
map afterwards lives here, so the GUI and the command line can draw maps without importing
TensorFlow. A heat map is a float array of shape (rows, columns) with values 0..1 (1: where the
model looked most); an all-zero map means the model found nothing in favour of the class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Anchor colours of the heat-map palette, cold to hot (close to matplotlib's "inferno":
#: black, purple, red, orange, pale yellow): perceptually ordered, readable in grey print.
_ANCHORS = np.array(
    [
        (0, 0, 4),
        (40, 11, 84),
        (101, 21, 110),
        (159, 42, 99),
        (212, 72, 66),
        (245, 125, 21),
        (250, 193, 39),
        (252, 255, 164),
    ],
    dtype=np.float64,
)


def _palette(steps: int = 256) -> np.ndarray:
    """:data:`_ANCHORS` interpolated linearly into ``steps`` RGB colours (uint8)."""
    at = np.linspace(0.0, len(_ANCHORS) - 1, steps)
    channels = [np.interp(at, np.arange(len(_ANCHORS)), _ANCHORS[:, c]) for c in range(3)]
    return np.rint(np.stack(channels, axis=1)).astype(np.uint8)


#: 256 RGB colours, index 0 for a heat of 0 and 255 for a heat of 1.
COLORMAP = _palette()
#: How much of the heat-map colour an overlay shows over the image.
DEFAULT_ALPHA = 0.5


@dataclass(frozen=True, eq=False)
class Explanation:
    """Where the model looked when it classified one image (Grad-CAM), as plain data.

    ``heatmap`` is at the model's input size (rows x columns, values 0..1) and ``peak`` is its
    hottest pixel as (row, column); ``label`` and ``probability`` are the model's top answer,
    the class the map explains. ``image`` is the model's input the map belongs to (uint8, the
    image as the model saw it: resized, cropped, grey or colour), for drawing the overlay.
    """

    path: str
    label: str
    probability: float
    heatmap: np.ndarray
    peak: tuple[int, int]
    image: np.ndarray | None = None

    def to_dict(self, decimals: int = 4) -> dict[str, object]:
        """The JSON form ``{"path", "label", "probability", "heatmap", "peak"}`` (the map as
        nested lists of rows, rounded to ``decimals`` places to keep the text small)."""
        return {
            "path": self.path,
            "label": self.label,
            "probability": float(self.probability),
            "heatmap": np.round(self.heatmap.astype(np.float64), decimals).tolist(),
            "peak": [int(self.peak[0]), int(self.peak[1])],
        }


def normalise(raw: np.ndarray) -> np.ndarray:
    """Scale each map of a (N, rows, columns) stack so its maximum is 1 (float32, 0..1).

    Negative values are cut to 0 (they speak against the class, not for it); a map without
    a positive value, or with NaN or infinite values only, becomes all zeros, never NaN.
    """
    maps = np.nan_to_num(np.asarray(raw, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    maps = np.maximum(maps, 0.0)
    top = maps.reshape(len(maps), -1).max(axis=1, initial=0.0)
    scale = np.divide(1.0, top, out=np.zeros_like(top), where=top > 0)
    return np.clip(maps * scale[:, None, None], 0.0, 1.0).astype(np.float32)


def _axis_weights(size: int, cells: int, scale: float, offset: float) -> tuple[np.ndarray, ...]:
    """For each of ``size`` pixels: the two grid cells around it and the second one's weight,
    where cell ``j``'s centre lies on pixel ``scale * j + offset`` (clamped at the edges)."""
    position = np.clip((np.arange(size) - offset) / scale, 0.0, cells - 1)
    low = np.floor(position).astype(np.intp)
    high = np.minimum(low + 1, cells - 1)
    return low, high, position - low


def resample(
    grid: np.ndarray, size: int, scale: float | None = None, offset: float = 0.0
) -> np.ndarray:
    """Bilinearly resample a (N, rows, columns) stack of grid maps to (N, size, size).

    Cell ``j`` of the grid is centred on pixel ``scale * j + offset`` of the result (what the
    network's layers make of it, see :func:`core.use.explain.cell_geometry`); pixels beyond the
    outermost cell centres take the edge cell's value. Without ``scale`` the cells are spread
    evenly over the image (cell edges on image edges, as an ordinary resize does).
    """
    grid = np.asarray(grid, dtype=np.float32)
    rows, cols = grid.shape[1:]
    if scale is None:
        scale, offset = size / rows, (size / rows - 1) / 2
        col_scale, col_offset = size / cols, (size / cols - 1) / 2
    else:
        col_scale, col_offset = scale, offset
    r0, r1, rw = _axis_weights(size, rows, scale, offset)
    c0, c1, cw = _axis_weights(size, cols, col_scale, col_offset)
    top = grid[:, r0][:, :, c0] * (1 - cw) + grid[:, r0][:, :, c1] * cw
    bottom = grid[:, r1][:, :, c0] * (1 - cw) + grid[:, r1][:, :, c1] * cw
    return (top * (1 - rw)[:, None] + bottom * rw[:, None]).astype(np.float32)


def peak(heatmap: np.ndarray) -> tuple[int, int]:
    """The hottest pixel of a map as (row, column).

    Upsampling leaves flat tops (several pixels share the maximum); of those, the one nearest
    their centroid is returned, so the peak sits in the middle of a flat top, not at its
    top-left corner. An all-zero map has its whole area as the top: the peak is its centre.
    """
    heat = np.asarray(heatmap, dtype=np.float64)
    rows, cols = np.nonzero(heat >= heat.max() - 1e-6)
    centre_row, centre_col = rows.mean(), cols.mean()
    nearest = int(np.argmin((rows - centre_row) ** 2 + (cols - centre_col) ** 2))
    return int(rows[nearest]), int(cols[nearest])


def colorize(heatmap: np.ndarray) -> np.ndarray:
    """A map's colours from :data:`COLORMAP`: uint8 RGB of shape (rows, columns, 3)."""
    heat = np.nan_to_num(np.asarray(heatmap, dtype=np.float64), nan=0.0)
    return COLORMAP[np.rint(np.clip(heat, 0.0, 1.0) * 255).astype(np.intp)]


def _rgb(image: np.ndarray) -> np.ndarray:
    """A uint8 image as (rows, columns, 3) RGB: grey (2-D or one channel) repeated."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {array.dtype}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 2:
        return np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim == 3 and array.shape[2] in (3, 4):
        return array[:, :, :3]
    raise ValueError(f"array of shape {array.shape} is not an image")


def overlay(image: np.ndarray, heatmap: np.ndarray, alpha: float = DEFAULT_ALPHA) -> np.ndarray:
    """The image with the coloured map blended over it: uint8 RGB at the image's size.

    ``image`` is uint8 grey (rows, columns[, 1]) or RGB(A); a map of another size is
    resampled to the image's (bilinear, cells spread evenly). ``alpha`` is the share of the
    map's colour (0: the image alone, 1: the map alone).
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be from 0 to 1, not {alpha}")
    rgb = _rgb(image)
    heat = np.asarray(heatmap, dtype=np.float32)
    if heat.shape != rgb.shape[:2]:
        rows, cols = rgb.shape[:2]
        if rows != cols:
            raise ValueError(f"cannot fit a {heat.shape} map onto a {rows}x{cols} image")
        heat = resample(heat[None], rows)[0]
    blend = rgb.astype(np.float32) * (1.0 - alpha) + colorize(heat).astype(np.float32) * alpha
    return np.clip(np.rint(blend), 0, 255).astype(np.uint8)


def enlarge(image: np.ndarray, minimum: int) -> np.ndarray:
    """``image`` repeated pixel by pixel (nearest neighbour) by the smallest whole factor that
    makes its shorter side at least ``minimum`` pixels: small inputs stay sharp when shown."""
    factor = max(1, -(-minimum // max(1, min(image.shape[:2]))))
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)
