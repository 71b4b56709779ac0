"""CNN Studio's PySide6 front end. Reaches the engine only through :mod:`gui.engine_adapter`."""
