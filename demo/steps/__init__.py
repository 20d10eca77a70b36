"""The pipeline's three steps, one module each: keywords, search, filter."""

from __future__ import annotations
