"""Allow ``python -m pipeline``."""

from pipeline.cli import main

if __name__ == "__main__":  # worker processes started from a server import this module too
    main()
