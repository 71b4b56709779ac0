"""Reusable widgets: the loss chart, the confusion matrix, probability bars, image helpers, the
thumbnail grid that makes each picture as it scrolls into view."""
