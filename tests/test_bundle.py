"""Model files: round trip in a fresh process, atomic saving, and rejection of bad files."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from core.errors import ModelFileError
from core.modelfile import bundle as bundle_module
from core.modelfile.bundle import ModelBundle, read_bundle, save_bundle

ROOT = Path(__file__).resolve().parents[1]


def test_round_trip_in_a_fresh_process_gives_the_same_predictions(
    saved_model, trained_session, pattern_dir
):
    files = sorted(str(p) for p in pattern_dir.glob("*/*.png"))[::6]
    expected, _ = trained_session.classify(files, top_k=None)
    code = (
        "import json, sys\n"
        "from core.use.classify import Classifier\n"
        f"c = Classifier.from_file({str(saved_model)!r})\n"
        f"p, _ = c.classify_paths({files!r})\n"
        "print(json.dumps({'probs': [dict(x.labels) for x in p], 'names': c.class_names,"
        " 'size': c.spec.size, 'color': c.spec.color}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    names = list(trained_session.dataset.class_names)
    got = np.array([[row[n] for n in names] for row in data["probs"]])
    want = np.array([[dict(p.labels)[n] for n in names] for p in expected])
    assert np.abs(got - want).max() < 1e-6
    assert data["names"] == names
    assert (data["size"], data["color"]) == (16, False)


def test_metadata_records_training_and_files(saved_model, trained_session):
    bundle = read_bundle(saved_model)
    assert bundle.training["config"]["epochs"] == 4
    assert len(bundle.training["history"]) == 4
    assert bundle.training["runs"] == [
        {"config": bundle.training["config"], "epochs": 4, "outcome": "finished"}
    ]
    assert "preset" not in bundle.training["config"]  # the architecture lives in the spec
    assert bundle.preset == "article" and bundle.augment is False
    data = trained_session.dataset
    assert len(bundle.files["train"]) + len(bundle.files["val"]) == len(data)
    assert {p for p, _ in bundle.files["val"]} <= set(data.paths)
    assert bundle.files["root"] == str(data.root.resolve())
    assert bundle.metrics["accuracy"] == pytest.approx(
        trained_session.state().model.evaluation["accuracy"]
    )
    assert bundle.versions["keras"].startswith("3.")
    assert bundle.optimizer_name == "adam"


def test_failed_save_leaves_the_previous_file_byte_identical(saved_model, tmp_path, monkeypatch):
    target = tmp_path / "model.cnnmodel"
    target.write_bytes(saved_model.read_bytes())
    before = target.read_bytes()
    bundle = read_bundle(saved_model)
    calls = []

    def failing(array):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(array)

    real = bundle_module._npy_bytes
    monkeypatch.setattr(bundle_module, "_npy_bytes", failing)
    with pytest.raises(OSError, match="disk full"):
        save_bundle(bundle, target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.cnnmodel"]


def test_crash_mid_save_leaves_the_previous_file_byte_identical(saved_model, tmp_path):
    target = tmp_path / "model.cnnmodel"
    target.write_bytes(saved_model.read_bytes())
    before = target.read_bytes()
    code = (
        "import os\n"
        "from core.modelfile import bundle as b\n"
        "real = b._npy_bytes\n"
        "count = [0]\n"
        "def crash(a):\n"
        "    count[0] += 1\n"
        "    if count[0] == 4: os._exit(9)\n"
        "    return real(a)\n"
        "b._npy_bytes = crash\n"
        f"b.save_bundle(b.read_bundle({str(saved_model)!r}), {str(target)!r})\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=120)
    assert result.returncode == 9
    assert target.read_bytes() == before


def test_non_finite_weights_are_never_saved(saved_model, tmp_path):
    bundle = read_bundle(saved_model)
    bundle.weights[0] = bundle.weights[0].copy()
    bundle.weights[0].flat[0] = np.nan
    with pytest.raises(ModelFileError, match="not finite"):
        save_bundle(bundle, tmp_path / "nan.cnnmodel")
    assert not (tmp_path / "nan.cnnmodel").exists()


def _renamed_classes(bundle: ModelBundle) -> ModelBundle:
    return replace(bundle, class_names=[f"{name}-renamed" for name in bundle.class_names])


def _other_input_size(bundle: ModelBundle) -> ModelBundle:
    return replace(bundle, input=replace(bundle.input, size=bundle.input.size + 4))


def _float64_weights(bundle: ModelBundle) -> ModelBundle:
    return replace(bundle, weights=[w.astype(np.float64) for w in bundle.weights])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_renamed_classes, "metrics"),
        (_other_input_size, "do not fit the architecture"),
        (_float64_weights, "float64"),
    ],
)
def test_a_bundle_that_would_not_open_is_never_written(saved_model, tmp_path, change, message):
    """Class names changed after the metrics were computed (or weights that do not fit the
    network, or of another data type): read_bundle would refuse the file, so save_bundle
    refuses to write it, before anything reaches the disk."""
    bad = change(read_bundle(saved_model))
    with pytest.raises(ModelFileError, match=f"refusing to save .*{message}"):
        save_bundle(bad, tmp_path / "bad.cnnmodel")
    assert list(tmp_path.iterdir()) == []  # no file, no temporary
    target = tmp_path / "model.cnnmodel"
    target.write_bytes(saved_model.read_bytes())
    with pytest.raises(ModelFileError, match="refusing to save"):
        save_bundle(bad, target)
    assert list(tmp_path.iterdir()) == [target]
    assert target.read_bytes() == saved_model.read_bytes()


def test_a_valid_bundle_round_trips_with_its_optimizer_state(saved_model, tmp_path):
    bundle = read_bundle(saved_model)
    assert bundle.optimizer_weights  # the optimizer's arrays (step counter, moments) too
    copy = read_bundle(save_bundle(bundle, tmp_path / "copy.cnnmodel"))
    assert copy.metadata() == bundle.metadata()
    read_back = [*copy.weights, *copy.optimizer_weights]
    written = [*bundle.weights, *bundle.optimizer_weights]
    for found, saved in zip(read_back, written, strict=True):
        assert found.dtype == saved.dtype
        np.testing.assert_array_equal(found, saved)


def test_a_meta_json_that_packs_very_well_is_saved_so_that_it_opens(saved_model, tmp_path):
    """50,000 identical history entries deflate past the zip-bomb ratio; such a meta.json is
    stored unpacked instead of written as a file that reading would refuse."""
    bundle = read_bundle(saved_model)
    history = [{"loss": 0.5, "accuracy": 0.5}] * 50_000
    long = replace(bundle, training={"history": history}, metrics={}, files={})
    path = save_bundle(long, tmp_path / "long.cnnmodel")
    raw = members_of(path)["meta.json"]
    assert len(raw) > bundle_module.MAX_RATIO * len(zlib.compress(raw))  # the premise
    assert read_bundle(path).training["history"] == history


# --- rejecting bad files -------------------------------------------------------------------


def members_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_zip(path: Path, members: dict[str, bytes], compress: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compress) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def edited_meta(saved_model: Path, change) -> dict[str, bytes]:
    members = members_of(saved_model)
    meta = json.loads(members["meta.json"])
    change(meta)
    members["meta.json"] = json.dumps(meta).encode()
    return members


class Canary:
    """Pickling payload that would create a file if anything ever unpickled it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def npy(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def bad_files(saved_model: Path, tmp_path: Path, canary: Path) -> dict[str, tuple[Path, str]]:
    good = members_of(saved_model)
    cases: dict[str, tuple[Path, str]] = {}
    data = saved_model.read_bytes()
    (tmp_path / "truncated.cnnmodel").write_bytes(data[: len(data) // 2])
    cases["truncated"] = (tmp_path / "truncated.cnnmodel", "not a CNN Studio model file")
    (tmp_path / "text.cnnmodel").write_text("hello")
    cases["not a zip"] = (tmp_path / "text.cnnmodel", "not a CNN Studio model file")
    cases["dot-dot member"] = (
        write_zip(tmp_path / "dd.cnnmodel", {**good, "../../evil.txt": b"x"}),
        "unexpected entry",
    )
    cases["absolute member"] = (
        write_zip(tmp_path / "abs.cnnmodel", {**good, "/tmp/evil.txt": b"x"}),
        "unexpected entry",
    )
    bomb = dict(good)
    bomb["weights/000.npy"] = b"\0" * 50_000_000
    cases["zip bomb"] = (
        write_zip(tmp_path / "bomb.cnnmodel", bomb, zipfile.ZIP_DEFLATED),
        "zip bomb",
    )

    def future(meta):
        meta["schema_version"] = 99

    cases["unknown schema"] = (
        write_zip(tmp_path / "v99.cnnmodel", edited_meta(saved_model, future)),
        "schema version 99",
    )

    def lambda_layer(meta):
        meta["keras_config"] = {"class_name": "Lambda", "config": {"function": "os.system"}}

    cases["unknown field"] = (
        write_zip(tmp_path / "lambda.cnnmodel", edited_meta(saved_model, lambda_layer)),
        "unknown fields: keras_config",
    )

    def unknown_preset(meta):
        meta["architecture"]["preset"] = "keras.layers.Lambda"

    cases["unknown preset"] = (
        write_zip(tmp_path / "preset.cnnmodel", edited_meta(saved_model, unknown_preset)),
        "unknown architecture preset",
    )
    pickled = dict(good)
    payload = np.empty(1, dtype=object)
    payload[0] = Canary(canary)
    pickled["weights/000.npy"] = npy(payload, allow_pickle=True)
    cases["pickled array"] = (write_zip(tmp_path / "pickle.cnnmodel", pickled), "pickled")
    shaped = dict(good)
    shaped["weights/000.npy"] = npy(np.zeros((2, 2), np.float32))
    cases["wrong shape"] = (write_zip(tmp_path / "shape.cnnmodel", shaped), "shape")
    nan = dict(good)
    weights = np.load(io.BytesIO(good["weights/000.npy"]))
    weights.flat[0] = np.inf
    nan["weights/000.npy"] = npy(weights)
    cases["NaN/Inf weights"] = (write_zip(tmp_path / "nan.cnnmodel", nan), "NaN or infinite")
    missing = {k: v for k, v in good.items() if k != "meta.json"}
    cases["no metadata"] = (write_zip(tmp_path / "nometa.cnnmodel", missing), "no meta.json")
    return cases


def test_every_bad_model_file_is_rejected_without_side_effects(saved_model, tmp_path):
    canary = tmp_path / "canary"
    files = tmp_path / "files"
    files.mkdir()
    cases = bad_files(saved_model, files, canary)
    before = sorted(files.iterdir())
    for name, (path, message) in cases.items():
        with pytest.raises(ModelFileError) as info:
            read_bundle(path)
        assert message in str(info.value), f"{name}: {info.value}"
        assert str(path) in str(info.value)
    assert not canary.exists()
    assert sorted(files.iterdir()) == before
    assert not Path("/tmp/evil.txt").exists()


def test_a_plain_keras_file_is_not_a_model_file(trained, tmp_path):
    path = tmp_path / "model.keras"
    trained.model.save(path)
    with pytest.raises(ModelFileError, match="unexpected entry"):
        read_bundle(path)


def test_the_crop_setting_is_kept_and_older_files_without_it_load(saved_model, tmp_path):
    bundle = read_bundle(saved_model)
    assert bundle.input.crop is False
    save_bundle(replace(bundle, input=replace(bundle.input, crop=True)), tmp_path / "c.cnnmodel")
    assert read_bundle(tmp_path / "c.cnnmodel").input.crop is True
    meta = json.loads(members_of(tmp_path / "c.cnnmodel")["meta.json"])
    assert meta["preprocessing"]["resize"].startswith("centre square")

    def older(meta):
        del meta["input"]["crop"]

    old = write_zip(tmp_path / "old.cnnmodel", edited_meta(saved_model, older))
    assert read_bundle(old).input.crop is False

    def not_bool(meta):
        meta["input"]["crop"] = "yes"

    bad = write_zip(tmp_path / "bad.cnnmodel", edited_meta(saved_model, not_bool))
    with pytest.raises(ModelFileError, match="'crop'"):
        read_bundle(bad)
