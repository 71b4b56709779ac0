"""Open the app, load the demo, train one epoch, quit (run in a fresh process by a test).

The first NumPy-to-tensor conversion of a process happens here, on the engine's thread: on a
QThread this crashed TensorFlow's pybind11 code in about half the runs.
"""

from PySide6.QtCore import QEventLoop
from PySide6.QtWidgets import QApplication

from gui.app import build_window
from gui.settings import MemoryStore


def main() -> None:
    app = QApplication([])
    window, engine = build_window(MemoryStore())
    window.show()
    state: dict = {}
    engine.ready.connect(lambda v: state.__setitem__("ready", 1))
    engine.dataset_loaded.connect(lambda d: state.__setitem__("ds", 1))
    engine.training_finished.connect(lambda s: state.__setitem__("done", 1))
    engine.training_failed.connect(lambda s: state.__setitem__("done", s))
    engine.dataset_failed.connect(lambda s: state.__setitem__("ds", s))

    def wait(key: str) -> None:
        while key not in state:
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)

    engine.start()
    wait("ready")
    window.open_demo()
    wait("ds")
    window.train_tab.epochs_spin.setValue(1)
    window.train_tab.start()
    wait("done")
    print("trained", state["done"])
    engine.shutdown()


if __name__ == "__main__":  # decoding workers re-import this module
    main()
