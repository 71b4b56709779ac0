"""What the command line prints: help for every option, aligned tables, no TensorFlow log lines."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Iterator

import pytest

from core.cli.console import table
from core.cli.main import build_parser
from core.names import display_width, one_line


def parsers() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """The top-level parser and every command's."""
    parser = build_parser()
    yield "cnn-studio", parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def test_every_option_has_help_that_states_its_default():
    problems = []
    seen = 0
    for command, parser in parsers():
        formatter = parser._get_formatter()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            seen += 1
            name = f"{command} {'/'.join(action.option_strings) or action.dest}"
            if not action.help or action.help is argparse.SUPPRESS:
                problems.append(f"{name}: no help text")
                continue
            if action.default in (None, False, argparse.SUPPRESS):
                continue
            shown = " ".join(formatter._expand_help(action).split())
            if f"(default: {action.default}" not in shown:
                problems.append(f"{name}: help does not say '(default: {action.default}': {shown}")
        assert parser.format_help()  # every %(...)s in the texts expands
    assert seen > 40  # the walk reached every command's options
    assert not problems, "\n".join(problems)


def test_command_usage_names_the_command_not_the_apps_usage():
    for command, parser in parsers():
        if command != "cnn-studio":
            assert parser.format_usage().startswith(f"usage: cnn-studio {command} [-h]")


def column_ends(line: str) -> list[int]:
    """Terminal column where each value of a table line ends (wide characters count two)."""
    return [display_width(line[: m.end()]) for m in re.finditer(r"\S+", line)]


HEADER = ("class", "precision", "recall", "f1", "images")


@pytest.mark.parametrize(
    "names",
    [
        ["a", "b"],  # narrower than the "class" heading: the heading used to push the numbers
        ["circle", "triangle"],
        ["猫", "犬犬犬", "café"],  # two columns per CJK character
        ["e\u0301cole", "plain"],  # a combining accent takes no column
    ],
)
def test_table_values_line_up_under_their_headings(names):
    rows = [(n, "0.500", "1.000", "0.667", str(10**k)) for k, n in enumerate(names)]
    lines = table(rows, header=HEADER)
    ends = column_ends(lines[0])[1:]
    for line in lines[1:]:
        assert column_ends(line)[-4:] == ends, lines
    for name, line in zip(names, lines[1:], strict=True):
        assert line.startswith(name)


def test_a_long_name_gets_its_own_line_and_its_values_stay_in_their_columns():
    long = "a triangle drawn by hand with uneven corners and a slight blur"
    lines = table([(long, "0.1", "0.2", "0.3", "4"), ("o", "0.5", "0.6", "0.7", "8")], HEADER)
    assert lines[1] == long
    ends = column_ends(lines[0])[1:]
    assert column_ends(lines[2]) == ends
    assert column_ends(lines[3])[1:] == ends
    assert max(len(line) for line in lines) < 80  # the short names keep a narrow table


def test_names_that_would_break_a_table_are_shown_on_one_line():
    assert one_line("two\nlines") == "two\\nlines"
    assert one_line("red\x1b[31m") == "red\\x1b[31m"  # no terminal escape sequences
    assert one_line("ab\u202ecd") == "ab\\u202ecd"  # no right-to-left override of the row
    assert one_line(os.fsdecode(b"caf\xe9")) == "café"  # and still readable()
    assert one_line("Zoë 猫") == "Zoë 猫"
    lines = table([("two\nlines", "1"), ("x", "2")])
    assert lines == ["two\\nlines  1", "x           2"]


def test_display_width_counts_terminal_columns():
    assert display_width("abc") == 3
    assert display_width("猫猫") == 4
    assert display_width("e\u0301") == 1
    assert display_width("a\u200db") == 2


CHATTER = (
    "W0000 00:00:1796068953.388385    7953 tf_tfl_flatbuffer_helpers.cc:364] Ignored "
    "output_format.\n"
    "I0000 00:00:1796068953.388947    7953 reader.cc:83] Reading SavedModel from: /tmp/x\n"
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "2024-12-26 15:17:07.215039: I tensorflow/core/platform/cpu_feature_guard.cc:193] "
    "This TensorFlow binary is optimized\n"
)
REAL = "cnn-studio: a message of ours\nE0000 00:00:1.5   7953 convert.cc:9] a real error\n"


def test_native_log_lines_are_held_back_and_the_rest_is_shown(capfd, monkeypatch):
    """What native code writes to fd 2 during a TFLite conversion: its info and warning log
    lines are dropped, anything else (ours, errors) still reaches the terminal."""
    from core.nets.runtime import native_logs_filtered

    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    with native_logs_filtered():
        os.write(2, (CHATTER + REAL).encode())
    assert capfd.readouterr().err == REAL


def test_native_log_is_shown_in_full_when_the_block_fails(capfd, monkeypatch):
    from core.nets.runtime import native_logs_filtered

    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    with pytest.raises(RuntimeError), native_logs_filtered():
        os.write(2, CHATTER.encode())
        raise RuntimeError("conversion failed")
    assert capfd.readouterr().err == CHATTER


def test_an_explicit_log_level_is_honoured(monkeypatch):
    from core.nets.runtime import drop_chatter

    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")  # someone debugging TensorFlow
    assert drop_chatter(CHATTER) == CHATTER
    assert drop_chatter(CHATTER + REAL, level=3) == "cnn-studio: a message of ours\n"
