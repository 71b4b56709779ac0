"""``python -m core``: the headless command line."""

import sys

try:
    from core.cli import main

    code = main()
except KeyboardInterrupt:  # while importing, before main() handles it itself
    print("cnn-studio: interrupted", file=sys.stderr)
    code = 130
sys.exit(code)
