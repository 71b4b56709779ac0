"""Training: the settings chosen for the data, hyperparameters as plain data, the Keras fit
with progress, stop/cancel and divergence checks, cached backbone features, calibration and
batch-normalisation statistics.

May use :mod:`core.nets` and :mod:`core.data`.
"""
