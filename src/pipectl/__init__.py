"""pipectl: a local-first command-line sales-pipeline tracker."""

__version__ = "0.1.0"
