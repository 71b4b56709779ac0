"""Names and descriptions of the architecture presets (no Keras needed to read them)."""

from __future__ import annotations

#: Preset name -> one-line description shown in the app and the CLI.
PRESETS: dict[str, str] = {
    "article": "The article's CNN: two 3x3 convolutions (64 filters), max-pooling, "
    "a 128-unit dense layer",
    "article-dropout": "The article's CNN with dropout against over-fitting",
    "deeper-bn": "Six convolutions with batch normalisation, for colour photos at 64x64 or more",
}
PRESET_NAMES = tuple(PRESETS)
DEFAULT_PRESET = "article"
