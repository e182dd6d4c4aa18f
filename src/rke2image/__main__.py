"""``python -m rke2image``."""

from rke2image.cli.main import main

raise SystemExit(main())
