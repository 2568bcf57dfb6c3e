"""``python -m smartpark`` runs the command line."""

from smartpark.cli import main

raise SystemExit(main())
