"""The commands that run on simulated systems: the simulators themselves (`onestop simulate …`), the demo, the
console on one machine (`onestop ui`) and the chaos suite."""

from __future__ import annotations

from typing import Annotated

import typer

from onestop.cli.terminal import console, setup_logging

simulate_app = typer.Typer(help="Simulators of district systems and the portal (for demos and tests).")
commands = typer.Typer()  # top-level commands (`onestop demo`): onestop.cli adds them without a group name


@simulate_app.command("igate", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def simulate_igate(ctx: typer.Context) -> None:
    """An iGate-style REST district system (options: see `--help` of the simulator)."""
    from onestop.simulators import igate

    igate.main(ctx.args)


@simulate_app.command("portal", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def simulate_portal(ctx: typer.Context) -> None:
    """The National Public Service Portal."""
    from onestop.simulators import portal

    portal.main(ctx.args)


@commands.command()
def demo(
    seed: int = 20250701,
    dossiers: Annotated[int, typer.Option(help="dossiers across all district systems")] = 5000,
    advance_hours: float = 48,
    verbose: bool = False,
) -> None:
    """The whole flow on embedded defaults: simulators, DAG runs, a clock advance, a summary and checks."""
    from onestop.simulators import demo as demo_module

    setup_logging(verbose)
    raise typer.Exit(
        demo_module.run(seed=seed, dossiers=dossiers, advance_hours=advance_hours, console=console)
    )


@commands.command()
def ui(
    dossiers: Annotated[int, typer.Option(help="dossiers across all district systems")] = 1200,
    port: Annotated[int | None, typer.Option(help="Airflow's port (default 8080, else a free one)")] = None,
) -> None:
    """The administrators' console on one machine: database, simulators, failures, Airflow (127.0.0.1 only)."""
    from onestop.simulators import ui as ui_module

    raise typer.Exit(ui_module.main(dossiers=dossiers, port=port))


@commands.command()
def chaos(
    scale: Annotated[float, typer.Option(help="1.0 = 20,400 dossiers over the 13 sources")] = 1.0,
    only: Annotated[list[str] | None, typer.Option(help="run the scenarios whose name contains this")] = None,
) -> None:
    """Fault injection over a whole simulated province (its own database in var/chaos), checked against the
    simulators' and the portal's ground truth. The last line: `chaos: N scenarios, M dossiers, lost L, duplicated D`."""
    from onestop import settings
    from onestop.chaos.suite import run as run_chaos

    raise typer.Exit(run_chaos(scale, settings.var_dir() / "chaos", only))
