"""`python -m roleSync` runs the command line."""

from roleSync.cli import main

raise SystemExit(main())
