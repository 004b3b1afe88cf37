"""``python -m lifegym``: the same command line as the ``lifegym`` script."""

from lifegym.cli import main

raise SystemExit(main())
