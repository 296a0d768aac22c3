"""Usage: ``python -m artstyle --help``."""

from artstyle.cli import main

if __name__ == "__main__":
    main()
