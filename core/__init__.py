"""CNN Studio engine: data, models, training, model files, inference and the command line.

Nothing in this package imports Qt; a plain Python program or a test can drive all of it.
"""

__version__ = "0.1.0"
