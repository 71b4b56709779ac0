"""The app's file dialogs start where the user last was, never in the process's current folder.

Each dialog names the kind of file it asks for (:data:`KINDS`). It opens in the folder a dialog
for that kind was last left in (kept in the preferences, :meth:`Preferences.last_folder`), else
near the newest recent item of that kind (the Recent datasets and models menus, the last
export), else in a sensible place of the user's: the Pictures folder for images and datasets,
the Documents folder for models, exports, reports and tables (the home folder where those do
not exist). A folder that has since gone is skipped. After a choice, the folder is remembered:
the chosen folder itself, or the folder of the chosen file.

The functions call :class:`QFileDialog`'s static functions (tests replace those). The
preferences are the ones given, else those of the window the dialog belongs to (the main
window's); a widget shown on its own remembers nothing. GUI thread only.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QFileDialog, QWidget

from gui.settings import Preferences

#: Where a dialog for each kind of file starts when nothing was remembered.
PICTURES, DOCUMENTS = "pictures", "documents"
#: Kind -> (its default place, the recent list that says where such files were lately, and
#: whether that list holds the files themselves (their folder is the place) or folders).
KINDS: dict[str, tuple[str, str | None, bool]] = {
    "datasets": (PICTURES, "datasets", False),
    "evaluations": (PICTURES, "datasets", True),  # test folders usually sit by the dataset
    "images": (PICTURES, None, False),
    "models": (DOCUMENTS, "models", True),
    "exports": (DOCUMENTS, "exports", True),  # the export's own folder is made in the one chosen
    "reports": (DOCUMENTS, None, False),
    "tables": (DOCUMENTS, None, False),
}


def _existing(path: str | Path | None) -> str | None:
    """``path`` as a string when it is an existing folder, else None."""
    if not path:
        return None
    try:
        return str(path) if Path(path).is_dir() else None
    except OSError:
        return None


def default_folder(place: str) -> str:
    """The user's Pictures or Documents folder (:data:`PICTURES`, :data:`DOCUMENTS`), or their
    home folder when it does not exist."""
    location = (
        QStandardPaths.StandardLocation.PicturesLocation
        if place == PICTURES
        else QStandardPaths.StandardLocation.DocumentsLocation
    )
    return _existing(QStandardPaths.writableLocation(location)) or str(Path.home())


def preferences_of(widget: QWidget | None) -> Preferences | None:
    """The preferences of ``widget``'s window: the first ``preferences`` up its parents."""
    while widget is not None:
        preferences = getattr(widget, "preferences", None)
        if isinstance(preferences, Preferences):
            return preferences
        widget = widget.parentWidget()
    return None


def start_folder(kind: str, preferences: Preferences | None, near: str | Path | None = None) -> str:
    """Where a dialog for ``kind`` starts: the folder last left in, else by the newest recent
    item of its kind, else ``near`` (say, the model's own folder), else :func:`default_folder`."""
    place, recent_kind, files = KINDS[kind]
    if preferences is not None:
        last = _existing(preferences.last_folder(kind))
        if last:
            return last
        if recent_kind is not None:
            for item in preferences.recent(recent_kind)[:1]:
                folder = _existing(Path(item).parent if files else item)
                if folder:
                    return folder
    return _existing(near) or default_folder(place)


def remember(kind: str, folder: str | Path, preferences: Preferences | None) -> None:
    """Start the next dialog for ``kind`` in ``folder``."""
    if preferences is not None and folder:
        preferences.set_last_folder(kind, str(folder))


def choose_folder(
    parent: QWidget | None,
    caption: str,
    kind: str,
    preferences: Preferences | None = None,
    start: str | Path | None = None,
) -> str:
    """Ask for a folder (``start`` first when it exists); "" when the user cancels."""
    preferences = preferences or preferences_of(parent)
    begin = _existing(start) or start_folder(kind, preferences)
    folder = QFileDialog.getExistingDirectory(parent, caption, begin)
    if folder:
        remember(kind, folder, preferences)
    return folder


def choose_file(
    parent: QWidget | None,
    caption: str,
    kind: str,
    name_filter: str,
    preferences: Preferences | None = None,
) -> str:
    """Ask for one existing file; "" when the user cancels."""
    preferences = preferences or preferences_of(parent)
    path, _ = QFileDialog.getOpenFileName(
        parent, caption, start_folder(kind, preferences), name_filter
    )
    if path:
        remember(kind, Path(path).parent, preferences)
    return path


def choose_files(
    parent: QWidget | None,
    caption: str,
    kind: str,
    name_filter: str,
    preferences: Preferences | None = None,
) -> list[str]:
    """Ask for existing files; [] when the user cancels."""
    preferences = preferences or preferences_of(parent)
    paths, _ = QFileDialog.getOpenFileNames(
        parent, caption, start_folder(kind, preferences), name_filter
    )
    if paths:
        remember(kind, Path(paths[0]).parent, preferences)
    return list(paths)


def choose_save_path(
    parent: QWidget | None,
    caption: str,
    kind: str,
    name: str,
    name_filter: str,
    preferences: Preferences | None = None,
    folder: str | Path | None = None,
) -> str:
    """Ask where to write a file, proposing ``name`` in ``folder`` (the folder of the file
    being saved again, as it is) or else in the kind's :func:`start_folder`; "" when the user
    cancels."""
    preferences = preferences or preferences_of(parent)
    begin = str(folder) if folder else start_folder(kind, preferences)
    path, _ = QFileDialog.getSaveFileName(parent, caption, str(Path(begin) / name), name_filter)
    if path:
        remember(kind, Path(path).parent, preferences)
    return path
