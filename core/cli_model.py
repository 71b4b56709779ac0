"""Command-line commands that train, evaluate, classify with and export models."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the model commands to the ``cnn-studio`` parser (filled in by the engine issue)."""
