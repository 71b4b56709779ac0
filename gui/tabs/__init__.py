"""The main window's tabs, one module each: Data (with its data-fixing actions), Train (and its
Results page), Classify, and Inside the network. A tab's parts sit beside it in modules named
after it: the Data tab's model-input box, class list, image grid and notes, the Train tab's
settings and progress page, the Results page's list of mistakes, the Classify tab's table.

Each shows the session's state (:class:`core.state.SessionState`) and asks the engine for work
through :class:`gui.engine_adapter.Engine`; widgets are touched on the GUI thread only.
"""
