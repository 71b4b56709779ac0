"""``python -m core``: the headless command line."""

import sys

from core.cli.interrupt import exit_on_ctrl_c, restore_ctrl_c

exit_on_ctrl_c()  # before the imports below, which take a second
from core.cli.main import main  # noqa: E402

restore_ctrl_c()
sys.exit(main())
