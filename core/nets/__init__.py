"""The networks: presets, architectures built in Keras from plain data, the shipped pretrained
backbone (and EfficientNet-Lite0, built from its description in
:mod:`~core.nets.efficientnet_lite`, shipped but not yet used by a preset), the precision training
computes in and the devices it runs on.

:mod:`~core.nets.presets`, :mod:`~core.nets.weight_shapes` and :mod:`~core.nets.precision`
need no TensorFlow (front ends read them); :mod:`~core.nets.runtime` is the one place that
imports TensorFlow and Keras. May use :mod:`core.data`.
"""
