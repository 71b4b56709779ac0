"""Printing benchmark results as a Markdown table (the form the README quotes)."""

from __future__ import annotations


def print_table(header: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
