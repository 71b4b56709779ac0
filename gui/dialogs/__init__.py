"""The dialogs: Help (getting started, keyboard shortcuts), Export model, and Evaluate on a
folder. Like the tabs they reach the engine only through :class:`gui.engine_adapter.Engine`.
"""
