"""``python -m galton.cli``: the same command as ``galton`` and ``python -m galton``."""

from . import main

raise SystemExit(main())
