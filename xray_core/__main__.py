"""``python -m xray_core``: the ``xray`` command, run by this interpreter."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
