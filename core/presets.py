"""Names and descriptions of the architecture presets (no Keras needed to read them)."""

from __future__ import annotations

#: Preset name -> one-line description shown in the app and the CLI.
PRESETS: dict[str, str] = {
    "article": "The article's CNN: two 3x3 convolutions (64 filters), max-pooling, "
    "a 128-unit dense layer",
    "article-dropout": "The article's CNN with dropout against over-fitting",
    "deeper-bn": "Six convolutions with batch normalisation, trained from scratch",
    "photos-pretrained": "Photos: MobileNetV2 pretrained on ImageNet (shipped with the app), "
    "colour, 224 px; only a small head is trained, in seconds",
}
#: The preset that builds on the shipped pretrained backbone.
PRETRAINED_PRESET = "photos-pretrained"
#: Input size the pretrained preset is trained at (measured: 224 px 71 %, 160 px 67 %,
#: 96 px 60 % with a linear head on the 400 clothing photos).
PRETRAINED_SIZE = 224
PRESET_NAMES = tuple(PRESETS)
DEFAULT_PRESET = "article"
