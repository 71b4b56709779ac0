"""How many CPU threads TensorFlow may use: chosen before TensorFlow starts, applied once.

TensorFlow sizes its thread pools when its runtime starts (on import of :mod:`core.nets.runtime`,
which initialises it) and refuses changes afterwards. So a front end records the user's limit
here first (the CLI's ``--threads``, the app's saved setting) and :mod:`core.nets.runtime` applies
it as it starts the runtime. This module needs neither TensorFlow nor Qt.
"""

from __future__ import annotations

import os

#: 0 means "let TensorFlow decide" (every core for the math inside an op).
_limit = 0


def set_thread_limit(threads: int) -> None:
    """Cap the threads TensorFlow will use (0 = automatic); call before TensorFlow starts.

    Raises ValueError for a negative count. A limit set after the runtime started cannot
    take effect; :func:`core.nets.runtime.thread_pools` reports the pools TensorFlow really has.
    """
    global _limit
    if threads < 0:
        raise ValueError("the number of threads cannot be negative")
    _limit = min(int(threads), os.cpu_count() or 1) if threads else 0


def pool_sizes() -> tuple[int, int]:
    """(intra-op, inter-op) pool sizes for TensorFlow from the recorded limit.

    Automatic: every core inside an op, two ops side by side (keeps a desktop responsive).
    With a limit of N: N threads inside an op and one op at a time, so at most N cores work.
    """
    if _limit:
        return _limit, 1
    return 0, 2
