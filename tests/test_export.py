"""Exports as self-contained folders: every format round-trips through its own classify.py in a
fresh process, on held-out PNG and JPEG files, and gives the app's answers."""

from __future__ import annotations

import ast
import json
import os
import re
import runpy
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.data.images import InputSpec, to_model_input
from core.errors import CnnStudioError
from core.share.check import CheckSet, ExportReport, label_of, run_script_main, spread
from core.share.folder import labels_text, preprocessing, template
from core.share.formats import FORMATS, install_hint
from tests.conftest import shared_path
from tests.imagegen import encode, png16_gray, with_exif_orientation

TEMPLATE = Path(__file__).resolve().parents[1] / "core" / "share" / "export_files" / "classify.py"
#: The line classify.py prints for each image.
LINE = re.compile(r"^(?P<path>.+)\t(?P<label>[^\t]+)\t(?P<prob>[01]\.\d{6})$")
CLASSES = ("red", "stripes", "columns")


def textured(size: tuple[int, int], seed: int, mode: str = "RGB") -> Image.Image:
    """Noise with structure (blocks and edges), so that any resampling difference shows."""
    rng = np.random.default_rng(seed)
    width, height = size
    small = rng.integers(0, 256, (max(2, height // 6), max(2, width // 6), 3), dtype=np.uint8)
    image = Image.fromarray(small, "RGB").resize(size, Image.Resampling.NEAREST)
    noisy = np.asarray(image).astype(np.int16) + rng.integers(-30, 30, (height, width, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB").convert(mode)


def odd_files(folder: Path) -> list[Path]:
    """Files that take every branch of the recipe: EXIF-rotated non-square JPEGs, large JPEGs
    (draft decoding), grey and CMYK JPEGs, transparency (RGBA, LA, palette), 16-bit PNG,
    animated GIF, WebP, BMP, TIFF and images already at the model's size."""
    folder.mkdir(parents=True, exist_ok=True)
    rgba = textured((37, 23), 3).convert("RGBA")
    alpha = np.zeros((23, 37), np.uint8)
    alpha[:, 10:] = np.linspace(0, 255, 27, dtype=np.uint8)
    rgba.putalpha(Image.fromarray(alpha, "L"))
    palette = textured((30, 30), 4).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    files = {
        "exif6_wide.jpg": with_exif_orientation(textured((60, 34), 1), 6),
        "exif3_tall.jpg": with_exif_orientation(textured((30, 52), 2), 3),
        "large.jpg": encode(textured((403, 297), 5), "JPEG", quality=90),
        "grey.jpg": encode(textured((90, 64), 6, "L"), "JPEG"),
        "cmyk.jpg": encode(textured((70, 50), 7).convert("CMYK"), "JPEG"),
        "transparent.png": encode(rgba, "PNG"),
        "grey_alpha.png": encode(rgba.convert("LA"), "PNG"),
        "palette_transparent.png": encode(palette, "PNG", transparency=0),
        "sixteen_bit.png": png16_gray(33, 21, 40000),
        "animated.gif": encode(
            textured((40, 40), 8).convert("P"),
            "GIF",
            save_all=True,
            append_images=[textured((40, 40), 9).convert("P")],
        ),
        "photo.webp": encode(textured((64, 48), 10), "WEBP", quality=80),
        "plain.bmp": encode(textured((20, 28), 11), "BMP"),
        "scan.tiff": encode(textured((25, 19), 12), "TIFF"),
        "exact16.png": encode(textured((16, 16), 13), "PNG"),
        "exact16_grey.png": encode(textured((16, 16), 14, "L"), "PNG"),
    }
    paths = []
    for name, data in files.items():
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    return paths


# --- the script's preprocessing is the app's ----------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        InputSpec(16),
        InputSpec(28, color=True),
        InputSpec(16, color=True, crop=True),
        InputSpec(48, crop=True),
        InputSpec(96, color=True),
    ],
    ids=str,
)
def test_classify_script_turns_files_into_exactly_the_apps_input(tmp_path, spec):
    script = runpy.run_path(str(TEMPLATE))  # the template, as copied into every export
    settings = json.loads(json.dumps(preprocessing(spec, FORMATS["onnx"], 3)))
    for path in odd_files(tmp_path):
        ours = script["to_input"](path, settings)
        app = to_model_input(path, spec)
        assert ours.dtype == np.float32 and ours.shape == spec.shape, path.name
        assert np.array_equal(ours, app.astype(np.float32)), path.name


def test_naive_resizing_would_not_match_so_the_comparison_can_fail(tmp_path):
    """The equality above is not vacuous: nearest-neighbour resizing (keras.utils.load_img's
    default) gives other pixels on the same files."""
    spec = InputSpec(28, color=True)
    differ = 0
    for path in odd_files(tmp_path):
        with Image.open(path) as image:
            naive = np.asarray(image.convert("RGB").resize((28, 28), Image.Resampling.NEAREST))
        differ += not np.array_equal(naive, to_model_input(path, spec))
    assert differ >= 10


def test_classify_script_imports_only_pillow_numpy_and_the_runtimes():
    tree = ast.parse(TEMPLATE.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    runtimes = {"keras", "tensorflow", "onnxruntime", "onnx", "ai_edge_litert"}
    standard = {"__future__", "io", "json", "sys", "collections", "pathlib", "warnings"}
    assert imported <= standard | runtimes | {"numpy", "PIL"}
    assert {"numpy", "PIL"} <= imported
    assert "core" not in imported and "gui" not in imported


def test_preprocessing_json_states_every_step_with_its_parameters():
    document = preprocessing(InputSpec(32, color=False, crop=True), FORMATS["tflite"], 4)
    assert json.loads(json.dumps(document)) == document  # plain JSON
    assert document["recipe"] == "cnnstudio-preprocess-1"
    assert document["model"] == {
        "file": "model.tflite",
        "format": "tflite",
        "runtime": FORMATS["tflite"].runtime_words,
        "classes": 4,
        "output": document["model"]["output"],
    }
    for step in document["steps"]:
        assert step in document, step
    assert document["input"]["layout"] == "NHWC"
    assert document["input"]["shape"] == [None, 32, 32, 1]
    assert document["input"]["value_range"] == [0, 255]
    assert document["color"]["mode"] == "L"
    assert document["exif_orientation"]["applied"] is True
    assert document["transparency"]["background_rgb"] == [255, 255, 255]
    assert document["jpeg_draft"] == {**document["jpeg_draft"], "used": True, "mode": "L"}
    assert document["crop"]["centre_square"] is True
    resize = document["resize"]
    assert (resize["size"], resize["filter"], resize["antialias"]) == ([32, 32], "bilinear", True)
    assert resize["reducing_gap"] == 2.0
    colour = preprocessing(InputSpec(64, color=True), FORMATS["onnx"], 2)
    assert colour["color"]["mode"] == "RGB" and colour["input"]["shape"] == [None, 64, 64, 3]
    assert colour["crop"]["centre_square"] is False
    assert colour["resize"]["aspect_ratio"] == "not kept (stretched)"


def test_labels_are_one_per_line_in_output_order_and_a_line_break_is_refused():
    assert labels_text(["b", "a", "ü c"]) == "b\na\nü c\n"
    with pytest.raises(CnnStudioError, match=r"labels\.txt"):
        labels_text(["ok", "two\nlines"])


def test_check_files_are_spread_over_the_list_and_labelled_by_their_folder():
    assert spread(5, 10) == [0, 1, 2, 3, 4]
    picked = spread(1000, 200)
    assert len(picked) == 200 and picked[0] == 0 and picked[-1] == 999
    assert label_of("cat/x.png", ["dog", "cat"]) == 1
    assert label_of("valid/dog/sub/x.png", ["dog", "cat"]) == 0
    assert label_of("x.png", ["dog", "cat"]) is None


def test_a_missing_runtime_is_named_with_how_to_install_it(monkeypatch):
    import core.share.formats as formats

    monkeypatch.setattr(formats, "_installed", lambda package: package.module != "onnxruntime")
    assert install_hint("onnx") == ""  # onnx's own reference runtime runs it (slowly)
    monkeypatch.setattr(
        formats, "_installed", lambda package: package.module not in ("onnxruntime", "onnx")
    )
    assert "pip install onnx onnxruntime" in install_hint("onnx")
    assert formats.missing_packages("tflite") == []
    assert install_hint("keras") == ""


def test_the_frozen_apps_run_script_hook_runs_a_script_as_main(tmp_path, monkeypatch, capsys):
    from gui.launcher import main

    script = tmp_path / "hello.py"
    script.write_text(
        "import sys\nprint('args', sys.argv[1:])\nprint('to stderr', file=sys.stderr)\n"
        "sys.exit(3 if __name__ == '__main__' else 4)\n"
    )
    assert main(["--run-script", str(script), "a b", "c"]) == 3
    assert capsys.readouterr().out == "args ['a b', 'c']\n"
    monkeypatch.setenv("CNNSTUDIO_SCRIPT_OUTPUT", str(tmp_path / "captured"))
    assert run_script_main([str(script)]) == 3
    assert (tmp_path / "captured.out").read_text() == "args []\n"
    assert (tmp_path / "captured.err").read_text() == "to stderr\n"
    assert "CNNSTUDIO_SCRIPT_OUTPUT" not in os.environ  # not passed on to the script's children


# --- exports of a small trained model ------------------------------------------------------


def colour_dataset(root: Path, per_class: int = 20) -> Path:
    """Three easily told colour classes on 24x20 noise (non-square: the model crops)."""
    rng = np.random.default_rng(0)
    for name in CLASSES:
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 70, (20, 24, 3)).astype(np.uint8)
            offset = int(rng.integers(0, 3))
            if name == "red":
                pixels[4:16, 6:18, 0] = 240
            elif name == "stripes":
                pixels[offset::3, :, 1] = 230
            else:
                pixels[:, offset::3, 2] = 230
            Image.fromarray(pixels, "RGB").save(root / name / f"{name}_{i:02d}.png")
    return root


@pytest.fixture(scope="module")
def colour_session(tmp_path_factory):
    from core.learn.config import TrainConfig
    from core.session import Session

    root = colour_dataset(tmp_path_factory.mktemp("colour") / "data")
    session = Session(use_cache=False)
    session.load_dataset(root, InputSpec(16, color=True, crop=True))
    session.train(TrainConfig(epochs=4, batch_size=16, seed=1, early_stopping=False), "article")
    return session


@pytest.fixture(scope="module")
def check_folder(colour_session, tmp_path_factory) -> Path:
    """Held-out files to check on: the validation PNGs (labelled by their class folder) and
    the odd files (unlabelled) in ``extra/``."""
    folder = tmp_path_factory.mktemp("check")
    data = colour_session.dataset
    for relpath, _ in colour_session._model.files["val"]:
        (folder / relpath).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(data.root / relpath, folder / relpath)
    odd_files(folder / "extra")
    return folder


def clean_env() -> dict[str, str]:
    """The environment of a user's shell: no PYTHONPATH leading to CNN Studio's code."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


@pytest.mark.slow
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_round_trips_in_a_fresh_process_on_held_out_files(
    colour_session, check_folder, tmp_path, fmt
):
    target = tmp_path / "export"
    report = colour_session.export(fmt, target, check_dir=check_folder)
    files = sorted(p for p in check_folder.rglob("*") if p.is_file())
    labelled = [p for p in files if p.parent.name in CLASSES]
    assert report.checked == len(files) and report.labelled == len(labelled)

    support = ["labels.txt", "preprocessing.json", "classify.py", "README.md", "parity.json"]
    assert sorted(p.name for p in target.iterdir()) == sorted([FORMATS[fmt].model_file, *support])
    assert not [p for p in tmp_path.iterdir() if p.name != "export"]  # no temporary left
    names = list(colour_session.state().model.class_names)
    assert (target / "labels.txt").read_text(encoding="utf-8") == "".join(f"{n}\n" for n in names)
    settings = json.loads((target / "preprocessing.json").read_text(encoding="utf-8"))
    assert settings["model"]["format"] == fmt
    expected = preprocessing(InputSpec(16, color=True, crop=True), FORMATS[fmt], len(CLASSES))
    assert settings == json.loads(json.dumps(expected))
    assert (target / "classify.py").read_text(encoding="utf-8") == template("classify.py")
    parity = json.loads((target / "parity.json").read_text(encoding="utf-8"))
    assert parity["checked"] == len(files) and parity["summary"] == report.summary()
    assert FORMATS[fmt].model_file in (target / "README.md").read_text(encoding="utf-8")

    if fmt in ("keras", "savedmodel"):  # TensorFlow takes seconds to start: the export's own
        assert report.passed and report.agreeing == len(files)  # fresh-process run suffices
        return
    # As a user would: the folder's own script, from another folder, in a fresh Python.
    done = subprocess.run(
        [sys.executable, str(target / "classify.py"), *map(str, files)],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert len(lines) == len(files)
    predictions, failures = colour_session.classify(files, top_k=1)
    assert not failures
    agree = 0
    for line, path, app in zip(lines, files, predictions, strict=True):
        match = LINE.match(line)
        assert match, line
        assert match["path"] == str(path)
        label, probability = app.labels[0]
        if match["label"] == label:
            agree += 1
            if FORMATS[fmt].float_model:
                assert float(match["prob"]) == pytest.approx(probability, abs=2e-6)
    if FORMATS[fmt].float_model:
        assert agree == len(files)
        assert report.passed and report.agreeing == len(files) and report.required == 0.995
    else:
        assert agree >= 0.8 * len(files)
        assert report.agreeing == agree and report.required is None
        assert report.calibration == "48 training images"
        assert report.app_accuracy is not None and report.export_accuracy is not None
        assert (target / "model_int8.tflite").stat().st_size < 0.4 * sum(
            w.nbytes for w in colour_session._model.keras_model.get_weights()
        )


def test_an_onnx_export_runs_without_onnx_runtime(colour_session, check_folder, tmp_path):
    """The packaged app carries no ONNX Runtime: the export's script then runs the model with
    the onnx package's reference runtime, with the same answers."""
    target = tmp_path / "export"
    colour_session.export("onnx", target, check_dir=check_folder)
    blocked = tmp_path / "blocked" / "onnxruntime"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError('no ONNX Runtime here')\n")
    files = sorted(p for p in check_folder.rglob("*") if p.is_file())[:6]
    env = {**clean_env(), "PYTHONPATH": str(blocked.parent)}
    done = subprocess.run(
        [sys.executable, str(target / "classify.py"), *map(str, files)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    predictions, _ = colour_session.classify(files, top_k=1)
    for line, app in zip(done.stdout.splitlines(), predictions, strict=True):
        match = LINE.match(line)
        assert match, line
        assert match["label"] == app.labels[0][0]
        assert float(match["prob"]) == pytest.approx(app.labels[0][1], abs=2e-6)


def test_an_export_that_disagrees_with_the_app_is_not_kept(colour_session, tmp_path, monkeypatch):
    import core.share.export as export

    def wrong(folder, paths):
        return [("red", 1.0)] * len(paths)  # whatever the image

    monkeypatch.setattr(export, "run_script", wrong)
    with pytest.raises(CnnStudioError, match="it was not kept"):
        colour_session.export("tflite", tmp_path / "export")
    assert list(tmp_path.iterdir()) == []


def test_the_target_must_be_new_empty_or_an_earlier_export(colour_session, tmp_path, capfd):
    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("mine")
    with pytest.raises(CnnStudioError, match="not empty and is not an earlier CNN Studio export"):
        colour_session.export("tflite", used)
    assert [p.name for p in used.iterdir()] == ["notes.txt"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(CnnStudioError, match="is not a folder"):
        colour_session.export("tflite", tmp_path / "file")

    first = colour_session.export("tflite-int8", tmp_path / "export")
    assert "fully_quantize" not in capfd.readouterr().err  # the quantiser's line held back
    assert first.format == "tflite-int8"
    second = colour_session.export("onnx", tmp_path / "export")  # replaces the earlier export
    assert second.passed
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == [
        "README.md",
        "classify.py",
        "labels.txt",
        "model.onnx",
        "parity.json",
        "preprocessing.json",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export", "file", "used"]


def test_an_export_gets_the_modes_a_new_folder_and_its_files_normally_get(colour_session, tmp_path):
    """Built in a private temporary folder (mode 700) and renamed into place, the export must
    still be readable by whoever the user's umask lets read new folders: 755 and 644 at 022."""
    target = tmp_path / "export"
    old = os.umask(0o022)
    try:
        colour_session.export("keras", target)
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    inside = list(target.rglob("*"))
    assert inside
    for path in inside:
        expected = 0o755 if path.is_dir() else 0o644
        assert (path.name, oct(stat.S_IMODE(path.stat().st_mode))) == (path.name, oct(expected))


def test_normal_modes_follow_the_umask(tmp_path):
    from core.atomic import give_normal_modes

    root = tmp_path / "built"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "data.bin").write_bytes(b"x")
    (root / "run.sh").write_text("#!/bin/sh\n")
    root.chmod(0o700)
    (root / "sub").chmod(0o700)
    (root / "sub" / "data.bin").chmod(0o600)
    (root / "run.sh").chmod(0o700)
    old = os.umask(0o027)
    try:
        give_normal_modes(root)
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in [root, *root.rglob("*")]}
    # Folders and executables 750, other files 640: what the umask gives new ones.
    assert modes == {"built": 0o750, "sub": 0o750, "data.bin": 0o640, "run.sh": 0o750}


def test_without_reachable_files_the_check_writes_images_of_its_own(colour_session, tmp_path):
    from core.share.export import export_model

    model = colour_session._model
    noise = np.random.default_rng(3).integers(0, 256, (12, 16, 16, 3), dtype=np.uint8)
    checks = CheckSet((), (), "generated noise images", noise)
    report = export_model(
        model.keras_model, model.spec, model.class_names, "onnx", tmp_path / "e", checks
    )
    assert isinstance(report, ExportReport)
    assert report.checked == 12 and report.passed and report.labelled == 0
    assert report.source == "generated noise images"


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in app is a shell script")
def test_the_frozen_app_checks_an_export_by_running_its_script_itself(
    colour_session, check_folder, tmp_path, monkeypatch
):
    """A frozen app has no Python beside it: the check runs ``APP --run-script classify.py``
    and reads the script's output from files (a windowed app may have no stdout)."""
    import core.share.check as check

    target = tmp_path / "export"
    colour_session.export("tflite", target, check_dir=check_folder)
    files = sorted(p for p in check_folder.rglob("*") if p.is_file())
    expected = check.run_script(target, files)
    root = Path(__file__).resolve().parents[1]
    app = tmp_path / "cnn-studio"
    app.write_text(
        f"#!/bin/sh\nPYTHONPATH={root} exec {sys.executable} -c "
        '"import sys; from gui.launcher import main; sys.exit(main())" "$@"\n'
    )
    app.chmod(0o755)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(app))
    assert check.script_command() == [str(app), "--run-script"]
    assert check.run_script(target, files) == expected


# --- Fashion-MNIST: parity on real held-out files ------------------------------------------


@pytest.mark.slow
@pytest.mark.shared_data
def test_fashion_mnist_exports_agree_with_the_app_on_200_test_files(tmp_path):
    from core.learn.config import TrainConfig
    from core.session import Session

    source = shared_path("fashion-mnist")
    data = tmp_path / "train"
    for label in range(10):
        (data / str(label)).mkdir(parents=True)
        for path in sorted((source / "train" / str(label)).glob("*.png"))[:60]:
            shutil.copy(path, data / str(label) / path.name)
    session = Session(use_cache=False)
    session.load_dataset(data, InputSpec(28))
    session.train(TrainConfig(epochs=3, batch_size=32, seed=1, early_stopping=False), "article")

    float_report = session.export("tflite", tmp_path / "float", check_dir=source / "test")
    assert float_report.checked == 200 and float_report.labelled == 200
    assert float_report.agreement >= 0.995
    quantised = session.export("tflite-int8", tmp_path / "int8", check_dir=source / "test")
    assert quantised.checked == 200 and quantised.required is None
    assert quantised.agreement >= 0.9
    assert abs(quantised.export_accuracy - quantised.app_accuracy) <= 0.05
    parity = json.loads((tmp_path / "int8" / "parity.json").read_text(encoding="utf-8"))
    assert parity["app_accuracy"] == quantised.app_accuracy
    assert "accuracy" in parity["summary"]
