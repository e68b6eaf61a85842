"""``python -m msgflash_async demo`` / ``python -m msgflash_async emulator --port 8080``."""

from .cli import main

raise SystemExit(main())
