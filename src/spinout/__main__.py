"""`python -m spinout`: the same entry point as the `spinout` console script."""

from spinout.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
