"""Unit tests of the demo pipeline, without the xray fixture."""
