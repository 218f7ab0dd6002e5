"""`onestop`: the command line of onestop-esb (run `onestop --help`).

This module assembles the commands (pyproject.toml's entry point is its `app`); they live by what they serve:
`operations` (sync, deliver, status, redrive, trace, reconcile, purge…), `database` (`onestop db …`),
`configuration` (`onestop schema|config|source|mapping …`) and `simulated` (simulators, demo, ui, chaos).
"""

from __future__ import annotations

import warnings

import typer

from onestop.cli import configuration, database, operations, simulated

app = typer.Typer(help="onestop-esb: sync district one-stop systems into the provincial database and the portal.",
                  no_args_is_help=True, pretty_exceptions_show_locals=False)  # fmt: skip
# Added without a name: their commands are top-level ones (`onestop sync`, `onestop demo`).
app.add_typer(simulated.commands)
app.add_typer(operations.commands)
app.add_typer(database.db_app, name="db")
app.add_typer(simulated.simulate_app, name="simulate")
app.add_typer(configuration.schema_app, name="schema")
app.add_typer(configuration.config_app, name="config")
app.add_typer(configuration.mapping_app, name="mapping")
app.add_typer(configuration.source_app, name="source")
# Noise from dependencies that says nothing to an operator of this product.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
