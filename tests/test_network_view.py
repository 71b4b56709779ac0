"""Inside the network: the layer views of every preset (core.use.network_view), the session's use
case, the tab against the fake engine with real Qt events, and the real engine end to end."""

from __future__ import annotations

import dataclasses
import re
import threading

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt, QUrl
from PySide6.QtGui import QColor

from core.data.images import InputSpec
from core.errors import CnnStudioError
from core.use.network_views import LayerView, NetworkView, stretch, weights_image
from tests.fake_engine import FakeEngine
from tests.test_gui_widgets import drop, finished

CLASSES = ["circle", "cross", "square"]

# (preset, input, max_maps): max_maps below, at and above some layers' filter counts.
PRESETS = [
    ("article", InputSpec(28), 16),
    ("article-dropout", InputSpec(20), 5),
    ("article-pooled", InputSpec(64), 16),
    ("deeper-bn", InputSpec(32, color=True), 40),
    ("photos-pretrained", InputSpec(64, color=True), 16),  # random backbone: shapes only
    ("photos", InputSpec(64, color=True), 16),
]


def _views(preset: str, spec: InputSpec, max_maps: int, seed: int = 0) -> list[LayerView]:
    from core.nets.models import ModelSpec, build_model
    from core.use.network_view import layer_views

    model = build_model(ModelSpec(preset, spec, len(CLASSES), augment=True))
    image = np.random.default_rng(seed).integers(0, 256, spec.shape, dtype=np.uint8)
    return layer_views(model, image, max_maps, CLASSES)


@pytest.mark.parametrize(("preset", "spec", "max_maps"), PRESETS, ids=[p[0] for p in PRESETS])
def test_every_preset_shows_its_layers_with_the_right_maps(preset, spec, max_maps):
    views = _views(preset, spec, max_maps)
    kinds = [v.kind for v in views]
    assert kinds[0] == "input" and kinds[-1] == "output"
    assert views[0].image is not None and views[0].image.shape == spec.shape
    convs = [v for v in views if v.kind == "conv"]
    assert convs, "no convolution shown"
    for conv in convs:
        rows, columns, filters = conv.shape
        assert conv.total == filters
        assert conv.maps is not None and conv.maps.dtype == np.uint8
        assert conv.maps.shape == (min(filters, max_maps), rows, columns)
        assert len(set(conv.channels)) == len(conv.channels) == len(conv.maps)
        assert all(0 <= c < filters for c in conv.channels)
        assert conv.sentence and conv.title
    # The first convolution (only) shows its learnt filters, one per shown map.
    first = convs[0]
    assert first.filters is not None
    kernel = 3
    assert first.filters.shape == (len(first.maps), kernel, kernel, spec.channels)
    assert all(c.filters is None for c in convs[1:])
    # Max pooling shows the same channels as the convolution before it, shrunk by its size.
    for i, view in enumerate(views):
        if view.kind == "pool" and view.maps is not None:
            before = next(v for v in reversed(views[:i]) if v.maps is not None)
            assert view.channels == before.channels
            pool = int(re.search(r"pooling (\d+)x", view.title).group(1))
            assert view.shape[:2] == (before.shape[0] // pool, before.shape[1] // pool)
            assert "shift" in view.sentence
    if not preset.startswith("photos"):
        pool1 = next(v for v in views if v.name == "pool1")
        conv = next(v for v in reversed(views[: views.index(pool1)]) if v.kind == "conv")
        assert pool1.shape[:2] == (conv.shape[0] // 2, conv.shape[1] // 2)  # halves the maps
    # Dense or global pooling: the strongest units, strongest first.
    for view in views:
        if view.kind in ("dense", "pool") and view.units:
            values = [v for _, v in view.units]
            assert len(values) == min(view.total, max_maps)
            assert values == sorted(values, reverse=True)
    output = views[-1]
    assert sorted(name for name, _ in output.units) == CLASSES
    assert sum(p for _, p in output.units) == pytest.approx(1.0, abs=1e-5)
    assert [p for _, p in output.units] == sorted((p for _, p in output.units), reverse=True)
    # Layers that change nothing at classification time are left out.
    assert not any(v.name.startswith(("augment", "dropout", "scale", "bn", "relu")) for v in views)


def test_the_pretrained_preset_shows_a_few_representative_backbone_layers():
    views = _views("photos-pretrained", InputSpec(64, color=True), 8)
    names = [v.name for v in views]
    assert names[0] == "pixels" and names[1] == "Conv1" and names[-1] == "classes"
    convs = [v for v in views if v.kind == "conv"]
    assert [v.name for v in convs] == [
        "Conv1",
        "block_1_expand",
        "block_7_expand",
        "block_13_expand",
        "Conv_1",
    ]
    assert [len(v.maps) for v in convs] == [8] * 5  # min(filters, 8): 16, 48, 144, 192, 1280
    assert convs[-1].total == 1280
    assert "Block 7 of 16" in convs[2].sentence
    assert convs[0].filters is not None and convs[0].filters.shape == (8, 3, 3, 3)
    pooled = views[-2]
    assert pooled.kind == "pool" and pooled.total == 1280 and len(pooled.units) == 8
    assert len(views) < 12  # a subset of the backbone's 155 layers


#: What a layer's internal Keras name looks like: words joined by "_" ("block_1_expand",
#: "global_average_pooling2d_1"), a short name with a number ("conv1", "Conv_1", "pool2") or
#: the deeper preset's "gap".
INTERNAL = re.compile(r"\w+_\w+|\b(conv|pool|block|dense|bn|relu)\d+\b|\bgap\b", re.IGNORECASE)


def _layer_names(model) -> set[str]:
    import keras

    names = set()
    for layer in model.layers:
        names.add(layer.name)
        if isinstance(layer, keras.Model):
            names |= _layer_names(layer)
    return names


def _said(view: LayerView) -> list[str]:
    """Everything a layer row puts into words: title, sentences, what is shown, unit names."""
    return [
        view.title,
        view.sentence,
        view.shown,
        view.filters_sentence,
        *(name for name, _ in view.units),
    ]


@pytest.mark.parametrize(("preset", "spec", "max_maps"), PRESETS, ids=[p[0] for p in PRESETS])
def test_no_internal_layer_name_reaches_the_words_of_any_preset(preset, spec, max_maps):
    from core.nets.models import ModelSpec, build_model
    from core.use.network_view import layer_views

    # A second model in the same process gets Keras's numbered names ("..._1").
    build_model(ModelSpec(preset, spec, len(CLASSES)))
    model = build_model(ModelSpec(preset, spec, len(CLASSES), augment=True))
    image = np.random.default_rng(0).integers(0, 256, spec.shape, dtype=np.uint8)
    views = layer_views(model, image, max_maps, CLASSES)
    internal = {n for n in _layer_names(model) if n not in CLASSES and not n.isalpha()}
    internal |= {"gap", "Conv1", "Conv_1"} & _layer_names(model)
    assert internal, "the model should have internal names to keep out"
    for view in views:
        for text in _said(view):
            assert not INTERNAL.search(text), (view.name, text)
            assert not any(re.search(rf"\b{re.escape(n)}\b", text) for n in internal), text
    titles = [v.title for v in views]
    assert titles[-1] == "The answer (output layer): 3 classes"
    assert all(t for t in titles) and len(set(titles)) == len(titles)  # each row told apart
    if preset == "photos-pretrained":
        assert "Average over the picture (global average pooling): 1280 numbers" in titles
        assert sum(t.startswith("MobileNetV2 α 0.35, ") for t in titles) == 5
    elif preset == "photos":
        assert "Average over the picture (global average pooling): 1280 numbers" in titles
        assert sum(t.startswith("EfficientNet-Lite0, ") for t in titles) == 5
    else:
        assert titles[1] == "Find patterns (convolution 1): " + titles[1].split(": ", 1)[1]


def test_the_photo_preset_names_its_backbone_as_the_small_mobilenet():
    from core.nets.models import ModelSpec, build_model, describe
    from core.nets.presets import PRESETS as DESCRIPTIONS
    from core.nets.presets import WHEN, preset_in_words

    small = "MobileNetV2 α 0.35 (the small version)"
    assert small in DESCRIPTIONS["photos-pretrained"] and small in WHEN["photos-pretrained"]
    assert preset_in_words("photos-pretrained") == (
        "Photos, smallest and fastest (pretrained), built on " + small
    )
    assert preset_in_words("photos") == (
        "Photos (pretrained, most accurate), built on EfficientNet-Lite0"
    )
    assert preset_in_words("article") == "Small images (the article's CNN)"
    assert preset_in_words("from-a-newer-version") == "from-a-newer-version"
    model = build_model(ModelSpec("photos-pretrained", InputSpec(64, color=True), 3))
    rows = [row["description"] for row in describe(model)]
    assert small + " pretrained on ImageNet (frozen)" in rows
    views = _views("photos-pretrained", InputSpec(64, color=True), 4)
    assert small in views[1].sentence and "MobileNetV2, " not in views[1].sentence


def test_first_filters_with_every_weight_at_zero_are_shown_last_and_said_to_be():
    from core.nets.models import ModelSpec, build_model
    from core.use.network_view import layer_views

    model = build_model(ModelSpec("article", InputSpec(16), 3))
    conv1 = model.get_layer("conv1")
    kernel, bias = conv1.get_weights()
    kernel[..., 0] = 0.0
    kernel[..., 5] = 1e-22  # as the shipped MobileNetV2's switched-off filters
    bias[[0, 5]] = 10.0  # so their flat maps would otherwise rank first
    conv1.set_weights([kernel, bias])
    image = np.random.default_rng(2).integers(0, 256, (16, 16, 1), dtype=np.uint8)
    conv = layer_views(model, image, 64)[1]
    assert sorted(conv.channels[-2:]) == [0, 5] and len(conv.channels) == 64
    assert (conv.filters[-2:] == 128).all()  # plain mid grey
    assert not conv.maps[-2:].any()  # flat maps, drawn black
    said = conv.sentence  # above the maps, where the flat black ones are seen
    assert "Filters #1 and #6 (2 of the 64, shown last) have every weight practically 0" in said
    assert "fell out of use while the network was trained" in said
    # When they do not make it into the shown maps, nothing needs saying.
    fewer = layer_views(model, image, 16)[1]
    assert 0 not in fewer.channels and 5 not in fewer.channels
    assert "practically 0" not in fewer.sentence


def test_the_shipped_photo_backbone_says_why_5_first_filters_are_flat():
    """MobileNetV2 α 0.35's ImageNet weights have 5 of 16 first filters at about 1e-21: they
    showed as flat grey with all-black maps, and nothing said why."""
    from core.nets.models import ModelSpec, build_model
    from core.use.network_view import layer_views

    model = build_model(ModelSpec("photos-pretrained", InputSpec(64, color=True), 3), True)
    image = np.random.default_rng(3).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    first = layer_views(model, image, 16)[1]
    assert sorted(first.channels[-5:]) == [3, 5, 7, 11, 13]
    assert first.shown == "all 16 feature maps"
    assert "Filters #4, #6, #8, #12 and #14 (5 of the 16, shown last)" in first.sentence
    assert "ImageNet weights of MobileNetV2 α 0.35" in first.sentence


def test_the_most_active_maps_come_first_and_pooling_keeps_their_peaks():
    from core.nets.models import ModelSpec, build_model
    from core.use.network_view import layer_views

    model = build_model(ModelSpec("article", InputSpec(28), 3))
    conv1 = model.get_layer("conv1")
    kernel, bias = conv1.get_weights()
    kernel[:] = 0.0
    kernel[..., 7] = 1.0  # filter 8 adds up its 3x3 patch: by far the strongest response
    kernel[1, 1, 0, 3] = 0.5  # filter 4 passes the pixel on at half strength
    conv1.set_weights([kernel, np.zeros_like(bias)])
    image = np.random.default_rng(1).integers(0, 256, (28, 28, 1), dtype=np.uint8)
    views = {v.name: v for v in layer_views(model, image, 4)}
    conv, pool = views["conv1"], views["pool1"]
    assert conv.channels[:2] == (7, 3)
    assert (conv.filters[0] == 255).all()  # the largest weight, bright
    assert conv.filters[1][1, 1, 0] == 192 and conv.filters[1][0, 0, 0] == 128  # 0.5 and 0
    # 26x26 pools exactly into 13x13: the strongest value of each map survives pooling.
    assert pool.peaks == pytest.approx(conv.peaks)
    patches = np.lib.stride_tricks.sliding_window_view(image[..., 0] / 255.0, (3, 3))
    assert conv.peaks[0] == pytest.approx(patches.sum(axis=(2, 3)).max(), rel=1e-5)
    assert "the 4 most active of 64" in conv.shown
    assert "the same 4 of 64" in pool.shown


def test_wrong_images_are_refused_with_the_reason():
    from core.nets.models import ModelSpec, build_model
    from core.use.network_view import layer_views

    model = build_model(ModelSpec("article", InputSpec(16), 2))
    with pytest.raises(CnnStudioError, match=r"takes uint8 \(16, 16, 1\)"):
        layer_views(model, np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(CnnStudioError, match="uint8"):
        layer_views(model, np.zeros((16, 16, 1), np.float32))


def test_stretch_and_weight_images():
    maps = np.array([[[0.0, 2.0], [1.0, 4.0]], [[3.0, 3.0], [3.0, 3.0]]])
    out = stretch(maps)
    assert out.dtype == np.uint8 and out[0].tolist() == [[0, 128], [64, 255]]
    assert not out[1].any()  # a flat map is black
    weights = weights_image(np.array([[[[-2.0]], [[1.0]]]]))
    assert weights.ravel().tolist() == [1, 192]
    assert (weights_image(np.zeros((2, 3, 3, 1))) == 128).all()


# --- the session ------------------------------------------------------------------------------


@pytest.mark.slow
def test_session_looks_inside_with_the_answer_classification_gives(trained_session, pattern_dir):
    files = sorted((pattern_dir / "blob").glob("*.png"))[:1]
    view = trained_session.network_view(files[0], max_maps=6)
    assert view.source == str(files[0])
    assert view.model_generation == trained_session.state().model.generation
    predictions, _ = trained_session.classify(files, top_k=1)
    label, probability = view.answer
    assert label == predictions[0].top[0]
    assert probability == pytest.approx(predictions[0].top[1], abs=1e-4)
    assert [len(v.maps) for v in view.of_kind("conv")] == [6, 6]
    # Pixels are resized to the model's input as classification does, and named as asked.
    pixels = np.zeros((40, 40), np.uint8)
    named = trained_session.network_view(pixels, name="blank")
    assert named.source == "blank" and named.layers[0].image.shape == (16, 16, 1)
    broken = pattern_dir.parent / "broken.png"
    broken.write_bytes(b"not an image")
    with pytest.raises(CnnStudioError, match=r"broken\.png"):
        trained_session.network_view(broken)


# --- the tab, against the fake engine ------------------------------------------------------------


@pytest.fixture
def engine(qtbot) -> FakeEngine:
    return FakeEngine()


def _fake_view(generation: int, source: str = "blob/blob_000.png") -> NetworkView:
    """A view as the engine would send it for the article CNN at 16 px (64 filters shown 16)."""
    rng = np.random.default_rng(0)
    channels = tuple(range(0, 32, 2))

    def maps(size: int) -> np.ndarray:
        return rng.integers(0, 256, (16, size, size), dtype=np.uint8)

    layers = (
        LayerView("pixels", "input", "Input", (16, 16, 1), "image", image=maps(16)[0, ..., None]),
        LayerView(
            "conv1",
            "conv",
            "conv1",
            (14, 14, 64),
            "conv",
            64,
            maps(14),
            channels,
            (1.0,) * 16,
            rng.integers(0, 256, (16, 3, 3, 1), dtype=np.uint8),
            "filters",
        ),
        LayerView("pool1", "pool", "pool1", (7, 7, 64), "pool", 64, maps(7), channels, (1.0,) * 16),
        LayerView("conv2", "conv", "conv2", (5, 5, 64), "conv", 64, maps(5), channels, (1.0,) * 16),
        LayerView("flatten", "other", "flatten", (1600,), "flatten"),
        LayerView(
            "dense",
            "dense",
            "dense",
            (128,),
            "dense",
            128,
            units=(("unit 3", 2.0), ("unit 9", 1.0)),
        ),
        LayerView(
            "classes", "output", "out", (3,), "out", 3, units=(("blob", 0.9), ("vertical", 0.1))
        ),
    )
    return NetworkView(source, layers, generation)


def _ready(engine, pattern_dataset):
    view = engine.load(pattern_dataset)
    finished(engine, view, list(view.class_names))
    return view


def test_the_tab_says_what_to_do_without_a_model(qtbot, engine):
    from gui.tabs.network import NetworkTab

    tab = NetworkTab(engine)
    qtbot.addWidget(tab)
    tab.show()
    assert "No model yet" in tab.hint.text() and tab.hint.isVisible()
    assert not tab.random_button.isEnabled() and not tab.open_button.isEnabled()
    assert not engine.called("view_network")


def test_the_tab_asks_for_a_random_image_of_the_chosen_class_and_shows_its_maps(
    qtbot, engine, pattern_dataset
):
    from gui.tabs.network import NetworkTab

    tab = NetworkTab(engine, seed=0)
    qtbot.addWidget(tab)
    dataset = _ready(engine, pattern_dataset)
    tab.show()  # turning to the tab with a model shows a random image at once
    assert len(engine.called("view_network")) == 1
    tab.class_combo.setCurrentIndex(tab.class_combo.findText("vertical"))
    qtbot.mouseClick(tab.random_button, Qt.MouseButton.LeftButton)
    calls = engine.called("view_network")
    assert len(calls) == 2
    _, pixels, name = calls[-1]
    assert name.startswith("vertical/") and pixels.shape == (16, 16, 1)
    assert (pixels == dataset.images[dataset.row_of(name)]).all()  # the dataset's own pixels
    assert "Computing" in tab.hint.text()

    generation = engine.state.model.generation
    engine.network_viewed.emit(_fake_view(generation, name))
    assert tab.map_tiles() == {"conv1": 16, "pool1": 16, "conv2": 16}
    assert tab.filter_grid is not None and tab.filter_grid.tile_count == 16
    assert tab.scroll.isVisible() and not tab.hint.isVisible()
    assert "the model answers <b>blob</b> (90%)" in tab.model_label.text()
    assert len(tab.layer_rows) == 7
    # A result computed for a model replaced since is dropped; a new model clears the view.
    finished(engine, dataset, list(dataset.class_names))
    assert tab.map_tiles() == {}
    engine.network_viewed.emit(_fake_view(generation))
    assert tab.map_tiles() == {}


@pytest.mark.parametrize("preset", ["deeper-bn", "photos-pretrained", "photos"])
def test_the_tab_shows_no_internal_layer_name(qtbot, engine, pattern_dataset, preset):
    from PySide6.QtWidgets import QLabel, QWidget

    from core.nets.models import ModelSpec, build_model
    from core.use.network_view import layer_views
    from gui.tabs.network import NetworkTab

    tab = NetworkTab(engine)
    qtbot.addWidget(tab)
    dataset = _ready(engine, pattern_dataset)
    spec = InputSpec(32, color=True)
    model = dataclasses.replace(engine.state.model, preset=preset, spec=spec)
    engine.set_state(model=model)
    tab.show()
    build_model(ModelSpec(preset, spec, 3))  # the next one gets Keras's numbered names
    network = build_model(ModelSpec(preset, spec, 3))
    image = np.random.default_rng(0).integers(0, 256, spec.shape, dtype=np.uint8)
    rows = layer_views(network, image, 8, list(dataset.class_names))
    engine.network_viewed.emit(NetworkView("blob/one.png", tuple(rows), model.generation))
    assert len(tab.layer_rows) == len(rows)
    shown = []
    for widget in tab.findChildren(QWidget):
        shown += [widget.toolTip(), widget.accessibleName(), widget.accessibleDescription()]
        if isinstance(widget, QLabel):
            shown.append(widget.text())
    internal = {n for n in _layer_names(network) if not n.isalpha()} | {"gap"}
    for text in filter(None, shown):
        assert not INTERNAL.search(text), text
        assert not any(re.search(rf"\b{re.escape(n)}\b", text) for n in internal), text
    said = tab.model_label.text()
    assert preset not in said  # the preset's name for people, not its id
    if preset == "photos-pretrained":
        assert "built on MobileNetV2 α 0.35 (the small version)" in said
    elif preset == "photos":
        assert "built on EfficientNet-Lite0" in said
    else:
        assert "Harder small images (a deeper CNN)" in said


def test_a_failure_is_said_in_the_tab(qtbot, engine, pattern_dataset):
    from gui.tabs.network import NetworkTab

    tab = NetworkTab(engine)
    qtbot.addWidget(tab)
    _ready(engine, pattern_dataset)
    tab.show()
    engine.network_view_failed.emit("odd.png: the file is empty (0 bytes)")
    assert tab.message.isVisible() and "the file is empty" in tab.message.text()


def test_an_image_dropped_on_the_window_goes_to_the_shown_network_tab(
    qtbot, engine, dialogs, pattern_dataset, pattern_dir
):
    from gui.main_window import MainWindow
    from gui.settings import MemoryStore, Preferences

    window = MainWindow(engine, Preferences(MemoryStore()))
    qtbot.addWidget(window)
    window.show()
    _ready(engine, pattern_dataset)
    window.tabs.setCurrentWidget(window.network_tab)
    before = len(engine.called("view_network"))
    image = sorted((pattern_dir / "blob").glob("*.png"))[0]
    drop(window, [QUrl.fromLocalFile(str(image))])
    calls = engine.called("view_network")
    assert len(calls) == before + 1 and calls[-1][1:] == (str(image), image.name)
    assert not engine.called("classify")  # not classified, as drops on other tabs are
    assert window.tabs.currentWidget() is window.network_tab


def test_feature_maps_are_enlarged_without_smoothing(qtbot):
    from gui.widgets.feature_maps import FeatureMapGrid, tile_size

    assert tile_size(14, 72) == 70 and tile_size(3, 45) == 45 and tile_size(112, 72) == 72
    grid = FeatureMapGrid()
    qtbot.addWidget(grid)
    grid.set_images(np.array([[[0, 255], [255, 0]]], np.uint8), ["#1"], None, 64)
    grid.resize(200, grid.heightForWidth(200))
    image = grid.grab().toImage()
    assert QColor(image.pixel(5, 5)).value() == 0  # inside the black quarter
    assert QColor(image.pixel(31, 5)).value() == 0  # still black right up to its edge
    assert QColor(image.pixel(33, 5)).value() == 255  # and white right after
    assert grid.tile_at(QPoint(40, 40)) == 0 and grid.tile_at(QPoint(150, 40)) is None
    grid.set_images(np.zeros((16, 5, 5), np.uint8), target=72)
    assert grid.tile_count == 16 and grid.heightForWidth(4 * 76) == 4 * (70 + 16 + 6)


# --- the real engine --------------------------------------------------------------------------


@pytest.mark.slow
def test_the_real_engine_looks_inside_on_its_thread_and_keeps_only_the_newest(
    qtbot, saved_model, pattern_dir
):
    from gui.engine_adapter import Engine

    engine = Engine()
    try:
        with qtbot.waitSignal(engine.model_opened, timeout=60_000):
            engine.open_model(saved_model)
        seen: list[NetworkView] = []
        engine.network_viewed.connect(seen.append)
        release = threading.Event()
        engine._worker.submit(lambda: release.wait(30))  # both requests queue behind this
        first, second = sorted((pattern_dir / "blob").glob("*.png"))[:2]
        engine.view_network(str(first))
        engine.view_network(str(second), "second")
        release.set()
        qtbot.waitUntil(lambda: not engine.state.doing("looking inside"), timeout=60_000)
        qtbot.wait(50)
        assert [v.source for v in seen] == ["second"]  # the superseded request is dropped
        assert [len(v.maps) for v in seen[0].of_kind("conv")] == [16, 16]
        assert seen[0].model_generation == engine.state.model.generation
    finally:
        engine.shutdown()
