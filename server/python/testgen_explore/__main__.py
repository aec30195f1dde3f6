"""`python -m testgen_explore`: the harness process (see main.py)."""

from .main import main

main()
