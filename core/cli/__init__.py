"""The ``cnn-studio`` command line: its commands (each a thin front end on
:class:`core.session.Session`), console output, Ctrl-C handling and the self-test.

The top of the engine: it may use everything in :mod:`core`, and nothing imports it but
``python -m core`` and the launcher.
"""
