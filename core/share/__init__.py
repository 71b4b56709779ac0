"""Sharing a model: exports in five formats, each checked by its own ``classify.py`` in a fresh
process, the model card and ``reproduce.py``.

The package data ``export_files/`` and ``report_files/`` ships with it. May use every stage
below the session: :mod:`core.use`, :mod:`core.modelfile`, :mod:`core.learn`,
:mod:`core.nets` and :mod:`core.data`.
"""
