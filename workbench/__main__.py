"""`python -m workbench`: same as the `tinyml-workbench` command."""

from workbench.cli import main

raise SystemExit(main())
