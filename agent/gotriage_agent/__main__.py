"""`python -m gotriage_agent` (PYTHONPATH=agent) or `python agent/gotriage_agent`."""
import os
import sys

if not __package__:
    # Run as a directory/script: make the package importable by its name.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from gotriage_agent.cli import main
else:
    from .cli import main

if __name__ == "__main__":
    sys.exit(main())
