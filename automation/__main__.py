"""``python -m automation``: the runner's command line (see ``automation/cli.py``)."""

from automation.cli import main

if __name__ == "__main__":
    main()
