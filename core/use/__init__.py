"""Using a trained model: classifying files, scoring it on labelled data, Grad-CAM heat maps
(where it looked) and the network view (what each layer computes for one image).

Results are plain data (:mod:`~core.use.predictions`, :mod:`~core.use.heatmap`,
:mod:`~core.use.network_views` need no TensorFlow). May use :mod:`core.modelfile`,
:mod:`core.learn`, :mod:`core.nets` and :mod:`core.data`.
"""
