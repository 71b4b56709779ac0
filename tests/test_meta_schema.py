"""meta.json of a model file: every field checked on load, crafted values refused with our own
error (never a traceback further on), and random JSON in any field fuzzed."""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path, PurePath
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import ModelFileError
from core.learn.config import TrainConfig
from core.modelfile.bundle import read_bundle
from core.modelfile.schema import check_meta
from core.use.evaluate import chance_warning
from tests.test_bundle import edited_meta, members_of, write_zip


@pytest.fixture(scope="module")
def meta(saved_model: Path) -> dict[str, Any]:
    return json.loads(members_of(saved_model)["meta.json"])


def changed(meta: dict[str, Any], path: tuple, value: Any) -> dict[str, Any]:
    edited = copy.deepcopy(meta)
    node = edited
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return edited


def test_a_saved_model_passes_every_check(meta):
    assert check_meta(copy.deepcopy(meta)) == meta
    assert meta["files"]["val"] and meta["metrics"]["misclassified"] is not None


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("training", "config", "epochs"), -5, "training.config"),
        (("training", "config", "epochs"), "10", "training.config"),
        (("training", "config", "seed"), 2**64, "training.config"),
        (("training", "config", "learning_rate"), True, "training.config"),
        (("training", "history"), [{"loss": "low"}], "training.history"),
        (("training", "outcome"), "exploded", "training.outcome"),
        (("training", "runs"), [{"config": {"patience": 0}}], "training.runs"),
        (("files", "val"), 7, "files.val"),
        (("files", "val"), [["a.png", "hash", "extra"]], "files.val"),
        (("files", "val"), [["../../etc/passwd", "hash"]], "inside the dataset folder"),
        (("files", "val"), [["/dev/zero", "hash"]], "inside the dataset folder"),
        (("files", "root"), "relative/folder", "absolute"),
        (("metrics", "confusion_matrix"), [[1, 2], [3, 4], [5, 6]], "confusion_matrix"),
        (("metrics", "accuracy"), 1.5, "metrics.accuracy"),
        (("metrics", "per_class"), {}, "metrics.per_class"),
        (("metrics", "misclassified"), [{"true": "nobody"}], "misclassified"),
        (("versions",), {"keras": 3}, "versions.keras"),
        (("optimizer",), {"name": "mystery", "variables": []}, "optimizer.name"),
        (("weights", 0, "shape"), [-1], "weights[0].shape"),
        (("class_names", 0), "a\x00b", "class_names[0]"),
        (("created",), "x" * 5000, "created"),
        (("architecture", "preset"), "photos-pretrained", "does not suit the architecture"),
        (("architecture", "backbone"), "efficientnet_lite0_imagenet", "architecture.backbone"),
    ],
)
def test_a_crafted_field_is_refused_naming_it(saved_model, tmp_path, meta, path, value, message):
    with pytest.raises(ModelFileError, match=message.replace("[", r"\[").replace("]", r"\]")):
        check_meta(changed(meta, path, value))
    # And through the loader, as a file.
    members = edited_meta(saved_model, lambda m: m.update(changed(m, path, value)))
    with pytest.raises(ModelFileError, match=r"meta\.json"):
        read_bundle(write_zip(tmp_path / "crafted.cnnmodel", members))


def test_a_file_names_its_pretrained_backbone_and_older_files_need_not():
    """Model files name the backbone a pretrained preset is built on; files made before
    EfficientNet-Lite0 (MobileNetV2's photos-pretrained, no backbone named) still pass."""
    from core.data.images import InputSpec
    from core.modelfile.bundle import ModelBundle

    for preset, backbone in (
        ("photos", "efficientnet_lite0_imagenet"),
        ("photos-pretrained", "mobilenet_v2_0.35_imagenet"),
    ):
        written = ModelBundle(preset, InputSpec(32, True), ["a", "b"], False, weights=[])
        assert written.metadata()["architecture"] == {
            "preset": preset,
            "augment": False,
            "backbone": backbone,
        }
    plain = ModelBundle("article", InputSpec(28), ["a", "b"], False, weights=[])
    assert "backbone" not in plain.metadata()["architecture"]


def test_continuing_a_model_with_crafted_settings_is_a_clean_error(
    saved_model, pattern_dir, tmp_path, capsys
):
    from core.cli.main import main

    members = edited_meta(saved_model, lambda m: m["training"]["config"].update(epochs=-5))
    crafted = write_zip(tmp_path / "crafted.cnnmodel", members)
    code = main(["train", str(pattern_dir), "--continue-from", str(crafted), "--epochs", "1"])
    assert code == 1
    error = capsys.readouterr().err
    assert "training.config" in error and "Traceback" not in error


def _paths(node: Any, prefix: tuple = (), depth: int = 0) -> list[tuple]:
    """Every place in ``node`` a value could be swapped (lists sampled: first entry only)."""
    found = [prefix] if prefix else []
    if depth > 5:
        return found
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key), depth + 1)
    elif isinstance(node, list) and node:
        found += _paths(node[0], (*prefix, 0), depth + 1)
    return found


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _use(meta: dict[str, Any]) -> None:
    """What the app does with an accepted meta.json, minus TensorFlow: none of it may fail."""
    training = meta["training"]
    TrainConfig.from_dict(training.get("config") or {})
    for run in training.get("runs", []):
        TrainConfig.from_dict(run.get("config") or {})
    metrics = meta.get("metrics") or {}
    chance_warning(metrics)
    if metrics:
        min(metrics["per_class"].items(), key=lambda kv: kv[1]["f1"])
        sum(map(sum, metrics["confusion_matrix"]))
        for case in metrics.get("misclassified", []):
            f"{case['path']} {case['probability']:.0%} {case['probabilities'].get(case['true'], 0)}"
    files = meta.get("files") or {}
    for relpath, _ in files.get("val", []):
        PurePath(files.get("root", "/")) / relpath
    for h in training.get("history", []):
        [float(v) for v in h.values()]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), value=json_values)
def test_random_json_in_any_field_is_accepted_and_usable_or_refused(meta, data, value):
    path = data.draw(st.sampled_from(_paths(meta)))
    edited = changed(meta, path, value)
    try:
        accepted = check_meta(edited)
    except ModelFileError:
        return
    _use(accepted)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), value=json_values)
def test_random_json_through_the_loader_is_a_model_or_our_error(
    saved_model, tmp_path_factory, meta, data, value
):
    path = data.draw(st.sampled_from(_paths(meta)))
    members = members_of(saved_model)
    members["meta.json"] = json.dumps(changed(meta, path, value)).encode()
    target = write_zip(tmp_path_factory.mktemp("fuzz") / "m.cnnmodel", members)
    with contextlib.suppress(ModelFileError):  # a model, or our own refusal
        read_bundle(target)
