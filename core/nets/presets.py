"""Names and descriptions of the architecture presets (no Keras needed to read them)."""

from __future__ import annotations

from core.assets import EFFICIENTNET_LITE0_WEIGHTS, MOBILENET_V2_WEIGHTS

#: The small pretrained backbone as people are told its name: Keras's MobileNetV2 reduced to
#: 0.35 of its width (α, the width multiplier), not the full MobileNetV2.
BACKBONE_NAME = "MobileNetV2 α 0.35"
#: The same, said with what α 0.35 means, where there is room for it.
BACKBONE_WORDS = f"{BACKBONE_NAME} (the small version)"
#: The photos backbone: EfficientNet-Lite0 (core/nets/efficientnet_lite.py). Measured on the
#: 400 shared clothing photos (5 stratified 80/20 splits, linear head on pooled features):
#: 85.5 ± 3.2 % against MobileNetV2 α 0.35's 75.0 ± 4.7 %.
LITE0_NAME = "EfficientNet-Lite0"
LITE0_WORDS = LITE0_NAME

#: Preset name -> one-line description shown in the app and the CLI.
PRESETS: dict[str, str] = {
    "article": "The article's CNN: two 3x3 convolutions (64 filters), max-pooling, "
    "a 128-unit dense layer",
    "article-dropout": "The article's CNN with dropout against over-fitting",
    "article-pooled": "The article's CNN for images over 32 px: extra max-pooling keeps its "
    "dense layer small enough to train",
    "deeper-bn": "Six convolutions with batch normalisation, trained from scratch",
    "photos": f"Photos: {LITE0_WORDS} pretrained on ImageNet (shipped with the app), colour, "
    "224 px; only a small head is trained, in seconds",
    "photos-pretrained": f"Photos, smallest and fastest: {BACKBONE_WORDS} pretrained on "
    "ImageNet (shipped with the app), colour, 224 px; only a small head is trained, in seconds",
}
#: Preset name -> what it is for, in plain words: the name people see in the app (the short
#: names above stay the ones the command line and model files use).
TITLES: dict[str, str] = {
    "article": "Small images (the article's CNN)",
    "article-dropout": "Small images, fewer images per class (with dropout)",
    "article-pooled": "Larger images, 32 px and up (with extra pooling)",
    "deeper-bn": "Harder small images (a deeper CNN)",
    "photos": "Photos (pretrained, most accurate)",
    "photos-pretrained": "Photos, smallest and fastest (pretrained)",
}
#: Preset name -> when to choose it, for tooltips.
WHEN: dict[str, str] = {
    "article": "The network from the TensorFlow article CNN Studio grew from, for small "
    "images such as digits, letters, icons or drawings, up to about 32 px. Trains in seconds "
    "to minutes.",
    "article-dropout": "The same network, with dropout: while training, a random part of it "
    "is switched off at each step, so it cannot lean on a few details. Choose it when the "
    "training accuracy is far above the validation accuracy (the model memorises its "
    "images).",
    "article-pooled": "The article's CNN with one more pooling step, so it stays small "
    "enough to learn from images of 32 px and more.",
    "deeper-bn": "Three times as many layers that look for patterns: often a few points more "
    "accurate on harder small images (such as clothing), at several times the training "
    "time.",
    "photos": "For photos of real things. A network that already learnt to see from a "
    f"million photos ({LITE0_WORDS}, shipped with the app, no download) is reused; only its "
    "last layer learns your classes, in seconds. Needs colour at 224 px. About 10 points more "
    "accurate than the smallest and fastest choice on photos, at about twice its time per "
    "image.",
    "photos-pretrained": "For photos of real things, where speed and size matter most: "
    f"{BACKBONE_WORDS}, shipped with the app, is reused and only its last layer learns your "
    "classes. Half the time per image and a third of the size of the most accurate photos "
    "network, about 10 points less accurate on photos.",
}
#: The preset for photos: the accurate pretrained backbone (EfficientNet-Lite0).
PRETRAINED_PRESET = "photos"
#: The smallest and fastest pretrained preset (MobileNetV2 α 0.35); also what model files made
#: before EfficientNet-Lite0 was shipped name, so their preset id stays this one.
SMALL_PRETRAINED_PRESET = "photos-pretrained"
#: Pretrained preset -> its backbone's id (names it in model files and feature caches).
BACKBONE_IDS: dict[str, str] = {
    PRETRAINED_PRESET: "efficientnet_lite0_imagenet",
    SMALL_PRETRAINED_PRESET: "mobilenet_v2_0.35_imagenet",
}
#: Pretrained preset -> its shipped ImageNet weights (a path in ``assets/``).
BACKBONE_ASSETS: dict[str, str] = {
    PRETRAINED_PRESET: EFFICIENTNET_LITE0_WEIGHTS,
    SMALL_PRETRAINED_PRESET: MOBILENET_V2_WEIGHTS,
}
#: Pretrained preset -> its backbone's name as people are told it.
BACKBONE_NAMES: dict[str, str] = {
    PRETRAINED_PRESET: LITE0_NAME,
    SMALL_PRETRAINED_PRESET: BACKBONE_NAME,
}
#: Pretrained preset -> the same with a word on what it is, where there is room.
BACKBONE_WORDS_BY_PRESET: dict[str, str] = {
    PRETRAINED_PRESET: LITE0_WORDS,
    SMALL_PRETRAINED_PRESET: BACKBONE_WORDS,
}
#: Input size the pretrained preset is trained at (measured: 224 px 71 %, 160 px 67 %,
#: 96 px 60 % with a linear head on the 400 clothing photos).
PRETRAINED_SIZE = 224
PRESET_NAMES = tuple(PRESETS)
DEFAULT_PRESET = "article"
#: Above this input size the article's CNN (without extra pooling) trains unreliably: at 64 px
#: its dense layer has 6.9M weights and, measured on 1,200 generated 64 px images, it stayed
#: at chance (loss ln 2) for ten epochs where ``article-pooled`` reached 100 %.
ARTICLE_MAX_INPUT = 32


def preset_in_words(preset: str) -> str:
    """What a model's preset is, as the Train tab names it ("Photos (pretrained, fast to
    train)"), with the backbone the pretrained one is built on; the id itself for a preset
    this version does not know (a model file from a newer version)."""
    said = TITLES.get(preset, preset)
    return f"{said}, built on {BACKBONE_WORDS_BY_PRESET[preset]}" if is_pretrained(preset) else said


def is_pretrained(preset: str) -> bool:
    """True for a preset built on a shipped pretrained backbone."""
    return preset in BACKBONE_IDS


def preset_warning(preset: str, size: int, color: bool) -> str | None:
    """Why ``preset`` does not suit inputs of ``size`` px (colour or not), or None."""
    if preset in ("article", "article-dropout") and size > ARTICLE_MAX_INPUT:
        return (
            f"at {size} px the article's CNN often fails to learn (its last layers get too "
            f'big); choose "{TITLES["article-pooled"]}" (article-pooled), or an image size '
            f"of {ARTICLE_MAX_INPUT} px or less"
        )
    if is_pretrained(preset):
        return pretrained_input_problem(size, color)
    return None


def pretrained_input_problem(size: int, color: bool) -> str | None:
    """Why the pretrained backbone cannot take ``size`` px inputs (colour or not), or None."""
    if not color or size < 32:
        return "the pretrained preset needs colour images of at least 32 px"
    return None
