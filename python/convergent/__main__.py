"""``python -m convergent ...`` is the ``convergent`` command (see convergent.cli)."""

from .cli import main

raise SystemExit(main())
