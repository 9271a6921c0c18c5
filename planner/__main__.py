"""``python -m planner`` runs the command line."""

from planner.cli import main

if __name__ == "__main__":  # also keeps a spawned worker process from re-running the command line
    main()
