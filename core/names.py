"""File and class names that are not valid UTF-8, kept exactly and shown readably.

On Linux and macOS a file name is bytes. Names written on old USB sticks or unpacked from zip
files made on other systems are often Latin-1 or Windows-1252 (``café`` as ``caf\\xe9``), which
is not UTF-8. Python holds such a name as a ``str`` with *surrogate escapes* (``'caf\\udce9'``):
it opens the file fine, and the model file keeps it exactly (JSON ``\\udce9``), but it cannot be
printed, written as UTF-8 text, or shown by Qt (which silently drops the character).

:func:`readable` is for everything a person reads (terminal, CSV, the window): the escaped
bytes are shown as the Windows-1252 characters they almost always are. The original ``str`` stays
the key everywhere else (opening files, class identity, model files).

:func:`one_line` and :func:`display_width` are for names laid out in a terminal table: a folder
name may hold a newline or an escape character, and a CJK or emoji name takes two columns per
character, so ``str.ljust`` alone misaligns the columns after it.
"""

from __future__ import annotations

import codecs
import unicodedata

_HANDLER = "cnnstudio-legacy-bytes"


def _legacy(error: UnicodeError) -> tuple[str, int]:
    """Decode the bytes UTF-8 rejected as Windows-1252 (Latin-1 where that has no character)."""
    assert isinstance(error, UnicodeDecodeError)
    bad = error.object[error.start : error.end]
    text = "".join(_cp1252(bytes([b])) for b in bad)
    return text, error.end


def _cp1252(byte: bytes) -> str:
    try:
        return byte.decode("cp1252")
    except UnicodeDecodeError:
        return byte.decode("latin-1")


codecs.register_error(_HANDLER, _legacy)


def readable(text: str) -> str:
    """``text`` with any surrogate-escaped bytes shown as characters (unchanged when it is
    valid UTF-8 already, which is the cheap common case)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that is no escaped byte (from crafted JSON)
        return text.encode("utf-8", "replace").decode("utf-8")
    return raw.decode("utf-8", _HANDLER)


#: Unicode categories that break a line or drive the terminal: controls, line/paragraph separators.
_UNSHOWABLE = frozenset({"Cc", "Zl", "Zp"})
#: Bidirectional embeddings, overrides and isolates: they would reverse the rest of a table row.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def one_line(text: str) -> str:
    """:func:`readable` ``text`` with control characters shown as escapes (``\\n``, ``\\x1b``),
    so a name stays on one line of a table and cannot move the cursor, recolour the terminal or
    reverse the columns after it."""
    shown = readable(text)
    if shown.isprintable():  # the common case: nothing to escape
        return shown
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if ch in _BIDI or unicodedata.category(ch) in _UNSHOWABLE
        else ch
        for ch in shown
    )


def display_width(text: str) -> int:
    """How many terminal columns ``text`` takes: wide (CJK, most emoji) characters take two,
    combining marks and invisible format characters (joiners, variation selectors) none."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def short_name(text: str, limit: int = 40) -> str:
    """A name as people can read it on one line, at most ``limit`` characters: the middle of
    a longer one is replaced by "…", so its start and end (often the telling parts) stay."""
    text = one_line(readable(text))
    if len(text) <= limit:
        return text
    keep = limit - 1
    return f"{text[: (keep + 1) // 2]}…{text[len(text) - keep // 2 :]}"
