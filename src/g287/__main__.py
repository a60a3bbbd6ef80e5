"""Allow ``python -m g287``."""

from g287.cli import main

main()
