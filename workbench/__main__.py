"""`python -m workbench`: same as the `tinyml-workbench` command; also the entry point of a frozen
bundle, which first runs any child job it was started for (workbench.core.launcher)."""

import sys

from workbench.core.launcher import cli_arguments, dispatch

code = dispatch(sys.argv[1:])
if code is None:
    from workbench.cli import main

    code = main(cli_arguments(sys.argv[1:]))
raise SystemExit(code)
