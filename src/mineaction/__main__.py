"""Allow ``python -m mineaction``."""

from mineaction.cli import main

main()
