"""The ``.cnnmodel`` file: a trained model as plain data, saved atomically, loaded defensively.

A model file is a zip holding ``meta.json`` (a fixed, versioned schema: architecture preset,
input spec, class names, preprocessing, training config and history, metrics, the train and
validation file lists with content hashes, library versions) and the weights as ``.npy`` arrays.
Nothing in it is code: the network is rebuilt in code from the preset named in the metadata, and
arrays are read with ``allow_pickle=False``. Keras's own format has had many loading
vulnerabilities; this one has no way to run anything.

Reading (:func:`read_bundle`) needs only NumPy, so a front end can show a model's metadata
without importing TensorFlow; :func:`core.classify.model_from_bundle` builds the network.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from core import __version__
from core.atomic import atomic_path
from core.errors import ModelFileError
from core.images import PREPROCESSING_VERSION, InputSpec
from core.meta_schema import FORMAT, SCHEMA_VERSION, check_meta
from core.safe_io import FileRefused, open_regular

SUFFIX = ".cnnmodel"
MAX_FILE_BYTES = 2 * 1024**3
MAX_MEMBER_BYTES = 1024**3
MAX_TOTAL_BYTES = 2 * 1024**3
MAX_META_BYTES = 16 * 1024**2
MAX_RATIO = 200  # uncompressed/compressed size of one member; beyond this it is a zip bomb
_MEMBER = re.compile(r"^(meta\.json|(weights|optimizer)/\d{3,5}\.npy)$")


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
    #: :meth:`core.calibration.Calibration.to_dict` ({} in files from before calibration).
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
            "architecture": {"preset": self.preset, "augment": self.augment},
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
    the target, so a crash at any moment leaves the previous file untouched. Refuses weights
    that are not finite (a diverged model is never saved).
    """
    path = Path(path)
    for array in [*bundle.weights, *bundle.optimizer_weights]:
        if not np.all(np.isfinite(array)):
            raise ModelFileError("refusing to save: the model has weights that are not finite")
    # ASCII with \u escapes: a file name that is not valid UTF-8 (held as surrogate escapes)
    # is stored losslessly instead of failing the save.
    meta = json.dumps(bundle.metadata(), indent=1, ensure_ascii=True, allow_nan=False)
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w") as archive:
        archive.writestr("meta.json", meta, compress_type=zipfile.ZIP_DEFLATED)
        for i, array in enumerate(bundle.weights):
            archive.writestr(f"weights/{i:03d}.npy", _npy_bytes(array))
        for i, array in enumerate(bundle.optimizer_weights):
            archive.writestr(f"optimizer/{i:03d}.npy", _npy_bytes(array))
    return path


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


def _check_array_header(data: bytes, name: str, expected: Any) -> None:
    """Refuse an array whose header disagrees with meta.json or with its own payload size,
    before NumPy allocates what the header claims (it could claim terabytes)."""
    buffer = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(buffer)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(buffer)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(buffer)
    except (ValueError, OSError, EOFError, SyntaxError) as exc:
        raise _reject(f"{name} is not a valid array ({exc})") from exc
    if dtype.hasobject:
        raise _reject(f"{name} holds pickled objects, which are never loaded")
    if dtype != np.float32 and dtype.kind != "i":
        raise _reject(f"{name} has data type {dtype}, expected float32")
    if not isinstance(expected, dict) or list(shape) != expected.get("shape"):
        raise _reject(f"{name} has shape {shape}, not the shape in meta.json")
    needed = math.prod(shape) * dtype.itemsize
    payload = len(data) - buffer.tell()
    if needed != payload:
        raise _reject(f"{name} holds {payload:,} bytes of data, not the {needed:,} its shape needs")


def _load_array(archive: zipfile.ZipFile, info: zipfile.ZipInfo, expected: Any) -> np.ndarray:
    data = _read_member(archive, info)
    _check_array_header(data, info.filename, expected)
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise _reject(f"{info.filename} is not a valid array ({exc})") from exc
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise _reject(f"{info.filename} contains NaN or infinite values")
    return array


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
            weights = _arrays(archive, members, "weights", meta["weights"])
            optimizer = meta.get("optimizer")
            opt_weights: list[np.ndarray] = []
            if optimizer is not None:
                opt_weights = _arrays(archive, members, "optimizer", optimizer["variables"])
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    except (zipfile.BadZipFile, EOFError) as exc:
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
