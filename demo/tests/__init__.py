"""The demo's own test suite: the pipeline checked with the ``xray`` pytest plugin."""
