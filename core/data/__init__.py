"""The data stage: from a folder on disk to labelled uint8 arrays.

Scanning class folders (and train/valid/test layouts) with every skipped file explained, the one
function that turns an image file into model input, parallel cached decoding, the stratified
split that keeps copies together, near-duplicate hashes, the built-in demo, and edits of a
dataset folder (never overwriting a file, camera pictures filed into a class among them) with
their undo and redo history. Needs NumPy and Pillow only:
it imports nothing of TensorFlow, and no other stage of :mod:`core` (only its shared helpers,
such as :mod:`core.errors` and :mod:`core.atomic`).
"""
