"""Reusable widgets: the loss chart, the confusion matrix, probability bars, image helpers."""
