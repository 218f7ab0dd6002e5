"""`python -m onestop.cli …`, as the tests, the bench and the chaos suite start the CLI in a subprocess."""

from onestop.cli import app

app()
