"""The main window's tabs, one module each: Data (with its data-fixing actions), Train (and its
Results page), Classify, and Inside the network.

Each shows the session's state (:class:`core.state.SessionState`) and asks the engine for work
through :class:`gui.engine_adapter.Engine`; widgets are touched on the GUI thread only.
"""
