"""``python -m msgflash_async ...``: the same program as the ``msgflash`` command."""

from .cli import main

raise SystemExit(main())
