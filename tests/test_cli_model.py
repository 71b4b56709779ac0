"""`cnn-studio train / evaluate / predict / export` end to end, in fresh processes."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.modelfile.bundle import read_bundle
from core.names import display_width
from tests.conftest import make_pattern_dataset

ROOT = Path(__file__).resolve().parents[1]


def cli(
    *args: str, timeout: int = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


#: What TensorFlow, absl and Keras print when left alone: C++ log lines in absl's and the older
#: format, start-up notices, absl's and Python's logging prefixes, Python warnings.
TF_CHATTER = re.compile(
    r"^[IWEF]\d{4} \S+\s+\d+ \S+:\d+\]|^\d{4}-\d\d-\d\d [\d:.]+: [IWEF] |oneDNN|absl|cuda"
    r"|^INFO:|^WARNING:|^ERROR:|\.py:\d+: \w*Warning:",
    re.MULTILINE,
)


@pytest.fixture(scope="module")
def cli_model(pattern_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "patterns.cnnmodel"
    result = cli(
        "train",
        pattern_dir,
        "--out",
        out,
        "--epochs",
        "4",
        "--batch-size",
        "16",
        "--image-size",
        "16",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["model"] == str(out)
    assert summary["epochs"] == 4
    assert set(summary["validation"]) >= {"accuracy", "per_class", "confusion_matrix"}
    assert "Traceback" not in result.stderr
    return out


def test_train_writes_a_model_with_validation_metrics(cli_model):
    bundle = read_bundle(cli_model)
    assert bundle.input.size == 16
    assert bundle.metrics["accuracy"] >= 0.8
    assert len(bundle.metrics["confusion_matrix"]) == 3


def test_predict_json_and_csv(cli_model, pattern_dir, tmp_path):
    image = sorted((pattern_dir / "horizontal").glob("*.png"))[0]
    result = cli(
        "predict",
        cli_model,
        image,
        pattern_dir / "blob",
        "--top-k",
        "2",
        "--json",
        "--csv",
        tmp_path / "out.csv",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert len(data) == 25
    assert data[0]["path"] == str(image)
    assert [set(p) for p in data[0]["predictions"]] == [{"label", "probability"}] * 2
    assert data[0]["predictions"][0]["label"] == "horizontal"
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 26


def test_evaluate_json(cli_model, pattern_dir):
    result = cli("evaluate", cli_model, pattern_dir, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["accuracy"] >= 0.8
    assert set(data["per_class"]) == {"blob", "horizontal", "vertical"}
    assert sum(map(sum, data["confusion_matrix"])) == 72


def test_export_writes_a_checked_folder(cli_model, tmp_path):
    for fmt, model_file in (("tflite", "model.tflite"), ("onnx", "model.onnx")):
        result = cli("export", cli_model, "--format", fmt, "--out", tmp_path / fmt)
        assert result.returncode == 0, result.stderr
        assert (tmp_path / fmt / model_file).stat().st_size > 10_000
        lines = result.stdout.splitlines()
        assert lines[0] == f"Exported to {tmp_path / fmt}"
        assert lines[1].startswith("Checked: classify.py, run in a fresh process on ")
        parity = json.loads((tmp_path / fmt / "parity.json").read_text(encoding="utf-8"))
        assert parity["passed"] and parity["source"] == "validation files of the model's dataset"


def test_failures_are_one_line_without_traceback(cli_model, tmp_path):
    bogus = tmp_path / "bogus.cnnmodel"
    bogus.write_text("not a model")
    for args in (
        ("predict", bogus, tmp_path),
        ("predict", cli_model, tmp_path / "missing.png"),
        ("evaluate", cli_model, tmp_path),
        ("train", tmp_path, "--epochs", "1"),
    ):
        result = cli(*args)
        assert result.returncode == 1, (args, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert lines[-1].startswith("cnn-studio: error: "), lines
        assert "Traceback" not in result.stderr
    usage = cli("train", "--demo", "--epochs", "many")
    assert usage.returncode == 2


def test_ctrl_c_stops_and_keeps_the_model_so_far(pattern_dir, tmp_path):
    out = tmp_path / "stopped.cnnmodel"
    process = subprocess.Popen(
        [
            sys.executable,
            "-u",
            "-m",
            "core",
            "train",
            str(pattern_dir),
            "--out",
            str(out),
            "--epochs",
            "400",
            "--batch-size",
            "4",
            "--image-size",
            "16",
            "--no-early-stopping",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    seen = ""
    while "Epoch 1/400" not in seen and time.monotonic() < deadline:
        seen += process.stderr.readline()
    os.kill(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "stopped after" in stdout
    assert read_bundle(out).training["outcome"] == "stopped"


def test_continue_from_trains_further_and_records_only_what_was_used(
    cli_model, pattern_dir, tmp_path
):
    out = tmp_path / "more.cnnmodel"
    result = cli(
        "train", pattern_dir, "--continue-from", cli_model, "--epochs", "2",
        "--batch-size", "16", "--optimizer", "sgd", "--out", out, "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    before, after = read_bundle(cli_model), read_bundle(out)
    assert len(after.training["history"]) == len(before.training["history"]) + 2
    assert after.training["config"]["optimizer"] == "sgd"
    assert [run["epochs"] for run in after.training["runs"]] == [4, 2]
    assert after.training["runs"][0]["config"]["optimizer"] == "adam"
    assert after.optimizer_name == "sgd"  # the state saved is the optimizer that made it
    assert (after.preset, after.augment, after.input) == (before.preset, False, before.input)
    assert any("changed from adam to sgd" in w for w in json.loads(result.stdout)["warnings"])
    moved = max(float(abs(a - b).max()) for a, b in zip(before.weights, after.weights, strict=True))
    assert moved > 1e-4


def test_continue_from_keeps_the_models_batch_size_and_patience(cli_model, pattern_dir, tmp_path):
    """Issue 26: continuing a photos model (batch 32) with TrainConfig's default of 128
    fine-tuned at twice the memory; a continued run goes on as the model was trained."""
    out = tmp_path / "again.cnnmodel"
    result = cli("train", pattern_dir, "--continue-from", cli_model, "--epochs", "1", "--out", out)
    assert result.returncode == 0, result.stderr
    before, after = read_bundle(cli_model), read_bundle(out)
    assert before.training["config"]["batch_size"] == 16  # not the default of 128
    assert after.training["config"]["batch_size"] == 16
    assert after.training["config"]["patience"] == before.training["config"]["patience"]


def test_continue_from_refuses_architecture_flags(cli_model, pattern_dir, tmp_path):
    for flags in (("--preset", "deeper-bn"), ("--augment",), ("--image-size", "20"), ("--color",)):
        result = cli("train", pattern_dir, "--continue-from", cli_model, *flags)
        assert result.returncode == 2, flags
        assert "cannot be used with --continue-from" in result.stderr


def test_threads_caps_what_tensorflow_uses(pattern_dir, tmp_path):
    """Regression: the thread settings were made after TensorFlow started, so never applied."""
    result = cli(
        "train", pattern_dir, "--image-size", "16", "--epochs", "1", "--threads", "1",
        "--out", tmp_path / "t.cnnmodel", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["threads"] == {"intra_op": 1, "inter_op": 1}
    assert cli("train", pattern_dir, "--threads", "-1").returncode == 2


def test_train_help_explains_the_settings_and_their_defaults():
    result = cli("train", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "passes over the training images (default: chosen for the data; 10 for" in text
    assert "images per training step (default: chosen for the data; 128 for" in text
    assert "--threads N" in text
    assert "photos = Photos (pretrained, most accurate), built on EfficientNet-Lite0" in text
    assert "Photos, smallest and fastest (pretrained), built on MobileNetV2 α 0.35" in text


def column_ends(line: str) -> list[int]:
    return [display_width(line[: m.end()]) for m in re.finditer(r"\S+", line)]


def test_evaluate_prints_an_aligned_table_and_the_accuracy_in_words(
    cli_model, pattern_dir, tmp_path
):
    result = cli("evaluate", cli_model, pattern_dir)  # the folder it was trained on
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    said = r"(about \d+ in 10|about \d+ in 100|every one|almost none|none)"
    # Its training images and its validation images, mixed: the whole figure, and beside it
    # the fair one on the validation images alone, in words.
    trained = len(read_bundle(cli_model).files["train"])
    assert re.match(
        rf"Accuracy: [\d.]+% on 72 images; [\d.]+% on the {72 - trained} it never saw "
        rf"\({trained} were in its training set, which flatters the whole figure\)$",
        lines[0],
    )
    assert re.match(rf"The fair figure: {said} right on images it never saw", lines[1])
    assert "guessing would get 1 in 3" in lines[1]
    header = next(i for i, line in enumerate(lines) if line.startswith("class "))
    assert lines[header].split() == ["class", "precision", "recall", "f1", "images"]
    ends = column_ends(lines[header])[1:]
    rows = lines[header + 1 :]
    assert [row.split()[0] for row in rows] == ["blob", "horizontal", "vertical"]
    for row in rows:
        assert column_ends(row)[1:] == ends, (lines[header], row)

    # Only its validation images, copied elsewhere: images it never saw, a fair score.
    held_out = tmp_path / "held out"
    for relpath, _ in read_bundle(cli_model).files["val"]:
        (held_out / relpath).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(pattern_dir / relpath, held_out / relpath)
    result = cli("evaluate", cli_model, held_out)
    assert result.returncode == 0, result.stderr
    assert "right on images it never saw" in result.stdout
    assert "Note:" not in result.stdout
    data = json.loads(cli("evaluate", cli_model, held_out, "--json").stdout)
    assert data["seen_in_training"] == 0
    assert data["accuracy"] == pytest.approx(read_bundle(cli_model).metrics["accuracy"])
    held = len(read_bundle(cli_model).files["val"])
    assert data["unseen"] == {
        "accuracy": data["accuracy"],
        "images": held,
        "exact_copies": 0,
        "near_copies": 0,
    }


def test_no_tensorflow_chatter_on_the_terminal(tmp_path):
    """Train (with its progress and epoch lines), evaluate, predict and export to TFLite: stderr
    holds our own lines only, none of TensorFlow's log or Keras's warnings."""
    data = make_pattern_dataset(tmp_path / "data", per_class=8, size=16)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "ABSL"))}
    model = tmp_path / "m.cnnmodel"
    runs = {
        "train": cli("train", data, "--epochs", "1", "--out", model, env=env),
        "evaluate": cli("evaluate", model, data, env=env),
        "predict": cli("predict", model, data / "blob", env=env),
        "export": cli("export", model, "--format", "tflite", "--out", tmp_path / "m", env=env),
    }
    for command, result in runs.items():
        assert result.returncode == 0, (command, result.stderr)
        assert not TF_CHATTER.findall(result.stderr), (command, result.stderr)
    assert "validation accuracy" in runs["train"].stdout
    assert "Epoch 1/1:" in runs["train"].stderr  # our own lines still show
    assert "validation loss" in runs["train"].stderr and "val_loss" not in runs["train"].stderr
    assert runs["export"].stderr.strip() == (
        "Exporting to TensorFlow Lite / LiteRT (.tflite) and checking it in a fresh process…"
    )


def test_tflite_export_is_quiet_even_where_the_converter_ignores_the_log_level(cli_model, tmp_path):
    """TensorFlow started at log level 0 (as a build whose converter ignores the level would
    behave): the converter's info and warning lines are still held back."""
    script = (
        "import os, sys\n"
        "os.environ['TF_CPP_MIN_LOG_LEVEL'] = '0'\n"
        "import core.nets.runtime\n"  # TensorFlow reads the level now: it will log everything
        "os.environ['TF_CPP_MIN_LOG_LEVEL'] = '2'\n"  # what the app asks for
        "from core.cli.main import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    target = tmp_path / "m"
    result = subprocess.run(
        [sys.executable, "-c", script, "export", str(cli_model), "--format", "tflite",
         "--out", str(target)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (target / "model.tflite").stat().st_size > 10_000
    assert not TF_CHATTER.findall(result.stderr), result.stderr
