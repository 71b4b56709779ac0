"""The ``.cnnmodel`` file: a trained model as plain data (``meta.json`` and ``.npy`` arrays in
a zip), its schema, checked before anything uses it, and atomic saving.

Reading needs only NumPy: it never imports TensorFlow, so a front end can show a model's
metadata at once. May use :mod:`core.learn`'s plain-data modules, :mod:`core.nets`'s presets
and weight shapes, and :mod:`core.data`.
"""
