"""The ``.cnnmodel`` file: a trained model as plain data, saved atomically, loaded defensively.

A model file is a zip holding ``meta.json`` (a fixed, versioned schema: architecture preset,
input spec, class names, preprocessing, training config and history, metrics, the train and
validation file lists with content hashes, library versions) and the weights as ``.npy`` arrays.
Nothing in it is code: the network is rebuilt in code from the preset named in the metadata, and
arrays are read with ``allow_pickle=False``. Keras's own format has had many loading
vulnerabilities; this one has no way to run anything.

Reading (:func:`read_bundle`) needs only NumPy, so a front end can show a model's metadata
without importing TensorFlow; :func:`core.use.classify.model_from_bundle` builds the network.
Before any array is unpacked, the arrays meta.json lists are compared with those the named
network has (:mod:`core.nets.weight_shapes`), and each array is then read in a stream straight into
memory of its checked size, so a small file cannot make the reader allocate gigabytes. Saving
(:func:`save_bundle`) applies the same checks first: the app never writes a file it would
refuse to open.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from core import __version__
from core.atomic import atomic_path
from core.data.images import PREPROCESSING_VERSION, InputSpec
from core.data.safe_io import FileRefused, open_regular
from core.errors import ModelFileError
from core.modelfile.schema import FORMAT, SCHEMA_VERSION, check_meta
from core.nets.presets import BACKBONE_IDS
from core.nets.weight_shapes import Shape, expected_weight_shapes

SUFFIX = ".cnnmodel"
MAX_FILE_BYTES = 2 * 1024**3
MAX_MEMBER_BYTES = 1024**3
MAX_TOTAL_BYTES = 2 * 1024**3
MAX_META_BYTES = 16 * 1024**2
#: Uncompressed/compressed size of one member, as the zip's directory declares them; beyond
#: this it is a zip bomb. A quick refusal only: what bounds memory is that an array member is
#: read in chunks straight into an array of the size the architecture needs (zipfile never
#: unpacks more than the declared size) and that the declared sizes must fit that architecture.
MAX_RATIO = 200
#: Bytes of an ``.npy`` header (ours are under 200; NumPy reads up to 10,000 by default).
MAX_HEADER_BYTES = 4096
#: Bytes unpacked and checked at a time while an array is read.
CHUNK_BYTES = 1 << 20
_MEMBER = re.compile(r"^(meta\.json|(weights|optimizer)/\d{3,5}\.npy)$")
_NPY_MAGIC = b"\x93NUMPY"
#: ``.npy`` format version -> bytes of its header-length field (3.0 only adds UTF-8 field
#: names, which no weight array has).
_NPY_LENGTH_BYTES = {(1, 0): 2, (2, 0): 4}


@dataclass
class ModelBundle:
    """A model file's validated contents: metadata plus weight (and optimizer) arrays."""

    preset: str
    input: InputSpec
    class_names: list[str]
    augment: bool
    weights: list[np.ndarray]
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    optimizer_name: str | None = None
    optimizer_weights: list[np.ndarray] = field(default_factory=list)
    #: :meth:`core.learn.calibration.Calibration.to_dict` ({} in files from before calibration).
    calibration: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    app_version: str = __version__

    def metadata(self) -> dict[str, Any]:
        """The ``meta.json`` document for this bundle."""
        optimizer = None
        if self.optimizer_name:
            optimizer = {
                "name": self.optimizer_name,
                "variables": [_array_meta(a) for a in self.optimizer_weights],
            }
        meta: dict[str, Any] = {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "app_version": self.app_version,
            "created": self.created or datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "architecture": _architecture(self.preset, self.augment),
            "input": {"size": self.input.size, "color": self.input.color, "crop": self.input.crop},
            "class_names": list(self.class_names),
            "preprocessing": {
                "recipe": PREPROCESSING_VERSION,
                "resize": self.input.resize_words,
                "transparency_background": 255,
                "exif_orientation": True,
                "pixel_scaling": "inside the model (x / 255)",
            },
            "training": self.training,
            "metrics": self.metrics,
            "files": self.files,
            "versions": self.versions,
            "weights": [_array_meta(a) for a in self.weights],
            "optimizer": optimizer,
        }
        if self.calibration:
            meta["calibration"] = self.calibration
        return meta


def _array_meta(array: np.ndarray) -> dict[str, Any]:
    return {"shape": list(array.shape), "dtype": str(array.dtype)}


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array, order="C"), allow_pickle=False)  # keeps 0-d arrays 0-d
    return buffer.getvalue()


def save_bundle(bundle: ModelBundle, path: Path | str) -> Path:
    """Write ``bundle`` to ``path`` atomically and return the path.

    The file is written to a temporary file in the same folder, flushed to disk and renamed over
    the target, so a crash at any moment leaves the previous file untouched. Before anything is
    written the contents pass the checks :func:`read_bundle` applies (the schema, with the
    metrics tied to the class names; array shapes that fit the architecture; data types and
    sizes), so the app never writes a model file it would refuse to open. Weights that are not
    finite are refused too (a diverged model is never saved).
    """
    path = Path(path)
    for array in [*bundle.weights, *bundle.optimizer_weights]:
        if not np.all(np.isfinite(array)):
            raise ModelFileError("refusing to save: the model has weights that are not finite")
    # ASCII with \u escapes: a file name that is not valid UTF-8 (held as surrogate escapes)
    # is stored losslessly instead of failing the save.
    meta = json.dumps(bundle.metadata(), indent=1, ensure_ascii=True, allow_nan=False)
    raw = meta.encode("ascii")
    try:
        check_fits_architecture(_parse_meta(raw))
        _check_sizes(raw, [*bundle.weights, *bundle.optimizer_weights])
    except ModelFileError as exc:
        raise ModelFileError(f"refusing to save {path}: {exc}") from None
    # A meta.json that deflates past MAX_RATIO (a long run of identical history entries) would
    # be taken for a zip bomb when read; such a one is stored as it is.
    packed = zipfile.ZIP_DEFLATED if _deflates_within_ratio(raw) else zipfile.ZIP_STORED
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w") as archive:
        archive.writestr("meta.json", meta, compress_type=packed)
        for i, array in enumerate(bundle.weights):
            archive.writestr(f"weights/{i:03d}.npy", _npy_bytes(array))
        for i, array in enumerate(bundle.optimizer_weights):
            archive.writestr(f"optimizer/{i:03d}.npy", _npy_bytes(array))
    return path


def _deflates_within_ratio(raw: bytes) -> bool:
    """Whether ``raw`` deflated as :mod:`zipfile` does it stays within :data:`MAX_RATIO`."""
    packer = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    packed = len(packer.compress(raw)) + len(packer.flush())
    return len(raw) <= MAX_RATIO * max(packed, 1)


def _storable(dtype: np.dtype) -> bool:
    """Data types a model file's arrays may have: float32 weights, integer step counters."""
    return dtype == np.float32 or dtype.kind == "i"


def _npy_size(array: np.ndarray) -> int:
    """Bytes of ``array`` as :func:`_npy_bytes` writes it (header included), without writing."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header,
        {
            "descr": np.lib.format.dtype_to_descr(array.dtype),
            "fortran_order": False,
            "shape": array.shape,
        },
    )
    return len(header.getvalue()) + array.nbytes


def _check_sizes(raw_meta: bytes, arrays: list[np.ndarray]) -> None:
    """The size limits and data types :func:`read_bundle` enforces, for a file about to be
    written (each member's zip entry costs well under 256 bytes besides its data)."""
    if len(raw_meta) > MAX_META_BYTES:
        raise _reject(f"meta.json would be too large ({len(raw_meta):,} bytes)")
    total = len(raw_meta)
    for array in arrays:
        if not _storable(array.dtype):
            raise _reject(f"an array has data type {array.dtype}; model files hold float32")
        size = _npy_size(array)
        if size > MAX_MEMBER_BYTES:
            raise _reject(f"an array of shape {array.shape} is too large for a model file")
        total += size
    if total > MAX_TOTAL_BYTES or total + 256 * (len(arrays) + 2) > MAX_FILE_BYTES:
        raise _reject("the model is too large for a model file")


def _reject(message: str) -> ModelFileError:
    return ModelFileError(message)


def _read_members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    members: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in archive.infolist():
        name = info.filename
        if not _MEMBER.fullmatch(name):
            raise _reject(f"unexpected entry {name!r} in the model file")
        if name in members:
            raise _reject(f"entry {name!r} appears twice in the model file")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _reject(f"entry {name!r} is packed in a way model files never use")
        if info.file_size > MAX_MEMBER_BYTES:
            raise _reject(f"entry {name!r} is too large")
        if name == "meta.json" and info.file_size > MAX_META_BYTES:
            raise _reject(f"meta.json is too large ({info.file_size:,} bytes)")
        if info.compress_type != zipfile.ZIP_STORED and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            raise _reject(f"entry {name!r} is compressed suspiciously well (zip bomb?)")
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise _reject("the model file unpacks to more than the size limit")
        members[name] = info
    if "meta.json" not in members:
        raise _reject("the model file has no meta.json")
    return members


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    with archive.open(info) as handle:
        data = handle.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise _reject(f"entry {info.filename!r} does not match its declared size")
    return data


def _shape_words(shape: Sequence[int]) -> str:
    return "x".join(str(n) for n in shape) if shape else "a single number"


def check_fits_architecture(meta: dict[str, Any]) -> None:
    """Refuse arrays that the network ``meta`` names does not have, from meta.json alone.

    ``meta`` has passed :func:`core.modelfile.schema.check_meta`. Each weight array must have the
    shape the preset gives it for this input size, colour and class count
    (:func:`core.nets.weight_shapes.expected_weight_shapes`), and each optimizer variable must be a
    step counter or setting (a single number) or have the shape of one of those weights. This
    runs before any array is unpacked, so a file that declares a gigabyte where the network
    has a few kilobytes is refused without reading the gigabyte.
    """
    arch, spec = meta["architecture"], meta["input"]
    classes = len(meta["class_names"])
    try:
        expected = expected_weight_shapes(arch["preset"], spec["size"], spec["color"], classes)
    except ValueError as exc:
        raise _reject(f"the architecture cannot be built ({exc})") from None
    network = (
        f"the {arch['preset']!r} network for {spec['size']} px "
        f"{'colour' if spec['color'] else 'grey'} images and {classes} classes"
    )
    listed: list[Shape] = [tuple(entry["shape"]) for entry in meta["weights"]]
    if len(listed) != len(expected):
        raise _reject(f"meta.json lists {len(listed)} weight arrays; {network} has {len(expected)}")
    for i, (found, wanted) in enumerate(zip(listed, expected, strict=True)):
        if found != wanted:
            raise _reject(
                f"weights array {i} has shape {_shape_words(found)}, but {network} has "
                f"{_shape_words(wanted)} there: the weights do not fit the architecture"
            )
    allowed = {(), *expected}
    for i, entry in enumerate((meta.get("optimizer") or {}).get("variables", [])):
        if tuple(entry["shape"]) not in allowed:
            raise _reject(
                f"optimizer array {i} has shape {_shape_words(entry['shape'])}, the shape of "
                f"no weight of {network}"
            )


def _read_array_header(handle: BinaryIO, name: str) -> tuple[int, Shape, bool, np.dtype]:
    """Read and parse the ``.npy`` header at the start of ``handle``: (its length in bytes,
    shape, Fortran order, data type).

    The header's length is checked before it is read (a version 2.0 header may claim 4 GB),
    and any failure to parse it is a refusal: NumPy parses the header as a Python literal, so
    a crafted one can end in ValueError, SyntaxError, tokenize.TokenError, RecursionError, ...
    """
    prefix = handle.read(len(_NPY_MAGIC) + 2)
    if len(prefix) < len(_NPY_MAGIC) + 2 or not prefix.startswith(_NPY_MAGIC):
        raise _reject(f"{name} is not a valid array (it does not start like one)")
    version = (prefix[-2], prefix[-1])
    width = _NPY_LENGTH_BYTES.get(version)
    if width is None:
        raise _reject(f"{name} is not a valid array (unknown format version {version})")
    length_field = handle.read(width)
    length = int.from_bytes(length_field, "little")
    if len(length_field) < width or length > MAX_HEADER_BYTES:
        raise _reject(f"{name} is not a valid array (its header is cut short or too long)")
    header = handle.read(length)
    if len(header) < length:
        raise _reject(f"{name} is not a valid array (its header is cut short)")
    raw = io.BytesIO(prefix + length_field + header)
    try:
        np.lib.format.read_magic(raw)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(raw)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(raw)
    except Exception as exc:  # a malformed literal can fail in any of a dozen ways: refused
        words = str(exc) or type(exc).__name__
        raise _reject(f"{name} is not a valid array (its header cannot be read: {words})") from exc
    return len(raw.getvalue()), tuple(shape), bool(fortran), dtype


def _read_payload(handle: io.BufferedIOBase, array: np.ndarray, name: str) -> None:
    """Fill the contiguous ``array`` with the bytes that follow its header, a chunk at a time
    (memory stays the array plus one chunk), and refuse data that ends early or goes on."""
    view = memoryview(array.reshape(-1).view(np.uint8))
    done = 0
    while done < len(view):
        got = handle.readinto(view[done : done + CHUNK_BYTES])
        if not got:
            raise _reject(f"{name} ends before the {len(view):,} bytes of data its header needs")
        done += got
    if handle.read(1):
        raise _reject(f"{name} holds more data than its header says")


def _all_finite(array: np.ndarray) -> bool:
    """Whether every value of the contiguous float ``array`` is finite, checked a chunk at a
    time (no second array of the full size)."""
    flat = array.reshape(-1)
    step = max(1, CHUNK_BYTES // flat.itemsize)
    return all(np.isfinite(flat[i : i + step]).all() for i in range(0, flat.size, step))


def _load_array(archive: zipfile.ZipFile, info: zipfile.ZipInfo, expected: Any) -> np.ndarray:
    """Read one array member, streamed: its header is checked against meta.json and against
    the member's declared size before any data is unpacked, then the data goes straight into
    an array of that shape (never NumPy's loader, which would allocate what the header claims
    and hold the whole member twice)."""
    name = info.filename
    with archive.open(info) as handle:
        header_size, shape, fortran, dtype = _read_array_header(handle, name)
        if dtype.hasobject:
            raise _reject(f"{name} holds pickled objects, which are never loaded")
        if not _storable(dtype):
            raise _reject(f"{name} has data type {dtype}, expected float32")
        if not isinstance(expected, dict) or list(shape) != expected.get("shape"):
            raise _reject(f"{name} has shape {shape}, not the shape in meta.json")
        needed = math.prod(shape) * dtype.itemsize
        payload = info.file_size - header_size
        if needed != payload:
            raise _reject(
                f"{name} holds {payload:,} bytes of data, not the {needed:,} its shape needs"
            )
        array = np.empty(shape[::-1] if fortran else shape, dtype)
        _read_payload(handle, array, name)
    if array.dtype.kind == "f" and not _all_finite(array):
        raise _reject(f"{name} contains NaN or infinite values")
    return array.T if fortran else array  # as NumPy's loader gives a Fortran-ordered array


def _parse_meta(raw: bytes) -> dict[str, Any]:
    def no_constants(token: str) -> Any:
        raise ValueError(f"{token} is not allowed")

    try:
        meta = json.loads(raw.decode("utf-8"), parse_constant=no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _reject(f"meta.json is not valid JSON ({exc})") from exc
    return check_meta(meta)


def read_bundle(path: Path | str) -> ModelBundle:
    """Read and validate a model file; raises :class:`ModelFileError` with the reason.

    Nothing is executed, written or imported beyond NumPy: a rejected file leaves no trace.
    """
    path = Path(path)
    try:
        handle = open_regular(path, MAX_FILE_BYTES)
    except FileRefused as exc:
        raise ModelFileError(f"{path}: {exc.reason}") from None
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        with handle, zipfile.ZipFile(_starting_like_a_model(handle)) as archive:
            members = _read_members(archive)
            meta = _parse_meta(_read_member(archive, members["meta.json"]))
            check_fits_architecture(meta)  # before any array is unpacked
            weights = _arrays(archive, members, "weights", meta["weights"])
            optimizer = meta.get("optimizer")
            opt_weights: list[np.ndarray] = []
            if optimizer is not None:
                opt_weights = _arrays(archive, members, "optimizer", optimizer["variables"])
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise ModelFileError(f"{path}: not a CNN Studio model file ({exc})") from exc
    except (OSError, zipfile.LargeZipFile, NotImplementedError, RuntimeError) as exc:
        raise ModelFileError(f"{path}: cannot read the model file ({exc})") from exc
    return ModelBundle(
        preset=meta["architecture"]["preset"],
        input=InputSpec(
            meta["input"]["size"], meta["input"]["color"], meta["input"].get("crop", False)
        ),
        class_names=list(meta["class_names"]),
        augment=meta["architecture"]["augment"],
        weights=weights,
        training=meta["training"],
        metrics=meta.get("metrics") or {},
        files=meta.get("files") or {},
        versions=meta.get("versions") or {},
        optimizer_name=(optimizer or {}).get("name"),
        optimizer_weights=opt_weights,
        calibration=meta.get("calibration") or {},
        created=meta["created"],
        app_version=meta["app_version"],
    )


def _starting_like_a_model(handle: BinaryIO) -> BinaryIO:
    """``handle``, rewound, if the file starts with a zip entry (zip readers also accept
    archives with anything put in front of them; a model file never has that)."""
    if handle.read(4) != b"PK\x03\x04":
        raise _reject("not a CNN Studio model file (it does not start like one)")
    handle.seek(0)
    return handle


def _arrays(
    archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], folder: str, listed: list
) -> list[np.ndarray]:
    names = sorted(n for n in members if n.startswith(folder + "/"))
    if len(names) != len(listed):
        raise _reject(f"meta.json lists {len(listed)} {folder} arrays, the file has {len(names)}")
    expected = [f"{folder}/{i:03d}.npy" for i in range(len(listed))]
    if names != expected:
        raise _reject(f"{folder} arrays are not numbered 000, 001, ...")
    return [_load_array(archive, members[n], m) for n, m in zip(names, listed, strict=True)]


def _architecture(preset: str, augment: bool) -> dict[str, Any]:
    """``meta.json``'s architecture: the preset, augmentation, and the pretrained backbone the
    preset is built on (so a file says which ImageNet network it holds, not only a preset id)."""
    arch: dict[str, Any] = {"preset": preset, "augment": augment}
    if preset in BACKBONE_IDS:
        arch["backbone"] = BACKBONE_IDS[preset]
    return arch
