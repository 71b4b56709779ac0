"""File and class names that are not valid UTF-8, kept exactly and shown readably.

On Linux and macOS a file name is bytes. Names written on old USB sticks or unpacked from zip
files made on other systems are often Latin-1 or Windows-1252 (``café`` as ``caf\\xe9``), which
is not UTF-8. Python holds such a name as a ``str`` with *surrogate escapes* (``'caf\\udce9'``):
it opens the file fine, and the model file keeps it exactly (JSON ``\\udce9``), but it cannot be
printed, written as UTF-8 text, or shown by Qt (which silently drops the character).

:func:`readable` is for everything a person reads (terminal, CSV, the window): the escaped
bytes are shown as the Windows-1252 characters they almost always are. The original ``str`` stays
the key everywhere else (opening files, class identity, model files).
"""

from __future__ import annotations

import codecs

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
