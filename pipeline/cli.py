"""The ``samtale`` command: each subcommand parses options and calls one library function."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import click

from . import __version__
from .errors import ExitCode, SamtaleError
from .workspace import Workspace, current_cycle

CYCLE_HELP = "Review cycle (year). Default: the current year."


class SamtaleGroup(click.Group):
    """A click group that turns our exceptions into 'Error: …' and an exit status."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SamtaleError as exc:
            if ctx.meta.get("traceback"):
                traceback.print_exc()
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(int(exc.exit_code))
        except KeyboardInterrupt:
            click.echo("Interrupted; nothing half-written was kept.", err=True)
            ctx.exit(int(ExitCode.INTERRUPTED))


@click.group(cls=SamtaleGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--workspace",
    "-w",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="Folder holding input/, templates/ and output/.",
)
@click.option(
    "--input",
    "input_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Input folder (default: WORKSPACE/input).",
)
@click.option(
    "--templates",
    "templates_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Templates folder (default: WORKSPACE/templates).",
)
@click.option(
    "--output",
    "output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (default: WORKSPACE/output).",
)
@click.option("--traceback", is_flag=True, help="Show the Python traceback of an error.")
@click.version_option(__version__, prog_name="samtale")
@click.pass_context
def cli(ctx, workspace, input_dir, templates_dir, output_dir, traceback):
    """Run the yearly employee review (medarbeidersamtale) from Word documents.

    A January cycle: check → generate → send → collect → status → minutes → finalize → verify.
    """
    ctx.meta["traceback"] = traceback
    ctx.obj = Workspace.at(
        workspace, input_dir=input_dir, templates_dir=templates_dir, output_dir=output_dir
    )


def cycle_option(function):
    """Add the --cycle option to a command."""
    return click.option(
        "--cycle",
        type=click.IntRange(2000, 2100),
        default=current_cycle,
        show_default="current year",
        help=CYCLE_HELP,
    )(function)


def roster_options(function):
    """Add the --roster and --sheet options to a command."""
    function = click.option("--sheet", help="Roster sheet name (default: the first sheet).")(
        function
    )
    return click.option(
        "--roster",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Roster workbook (default: input/roster.xlsx).",
    )(function)


@cli.command()
@roster_options
@click.pass_obj
def check(workspace: Workspace, roster, sheet):
    """Check the roster and the Word templates; list every problem at once."""
    from .check import check_workspace

    report = check_workspace(workspace, roster, sheet)
    languages = ", ".join(f"{n} {lang}" for lang, n in sorted(report.languages.items()))
    click.echo(
        f"Roster OK: {len(report.roster.employees)} employees, {report.departments} "
        f"departments, {report.managers} managers ({languages})."
    )
    click.echo(f"Templates OK: {', '.join(report.templates)}.")


@cli.command()
@roster_options
@cycle_option
@click.option(
    "--previous",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Last cycle's answers workbook; fills last year's agreements into the forms.",
)
@click.option("--force", is_flag=True, help="Also replace forms already handed out.")
@click.option(
    "--workers", type=click.IntRange(1, 64), help="Processes to use (default: all cores)."
)
@click.pass_obj
def generate(workspace: Workspace, roster, sheet, cycle, previous, force, workers):
    """Write the employee's and the manager's preparation form for every employee."""
    from .generate import generate_forms

    with click.progressbar(length=1, label="Generating forms", file=sys.stderr) as bar:

        def progress(done, total):
            bar.length = total
            bar.update(done - bar.pos)

        report = generate_forms(
            workspace,
            cycle,
            roster_path=roster,
            sheet=sheet,
            previous_path=previous,
            force=force,
            workers=workers,
            progress=progress,
        )
    for warning in report.warnings:
        click.echo(f"Warning: {warning}", err=True)
    statuses = ", ".join(f"{n} {status}" for status, n in sorted(report.status_counts.items()))
    click.echo(
        f"Cycle {report.cycle}: {report.employees} employees, {report.forms} forms ({statuses})."
    )
    click.echo(
        f"Written now: {len(report.written)}; unchanged: {report.unchanged}; "
        f"handed out and kept: {len(report.kept_handed_out)}; warnings: "
        f"{len(report.warnings)}."
    )
    click.echo(f"Forms are in {report.forms_dir}")


def main() -> None:
    """Run the command line interface."""
    cli(prog_name="samtale")


@cli.command()
@click.option(
    "--from",
    "source",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder where HR saved the returned files (default: input/returned).",
)
@roster_options
@cycle_option
@click.option(
    "--workers", type=click.IntRange(1, 64), help="Processes to use (default: all cores)."
)
@click.pass_obj
def collect(workspace: Workspace, source, roster, sheet, cycle, workers):
    """Screen returned forms (.docx, .eml), keep exact copies, update the answers workbook."""
    from .collect import collect_returned

    source = source or workspace.input_dir / "returned"
    with click.progressbar(length=1, label="Screening returned files", file=sys.stderr) as bar:

        def progress(done, total):
            bar.length = total
            bar.update(done - bar.pos)

        report = collect_returned(
            workspace,
            cycle,
            source,
            roster_path=roster,
            sheet=sheet,
            workers=workers,
            progress=progress,
        )
    for source_name, reason in report.quarantined:
        click.echo(f"Quarantined: {source_name}: {reason}")
    for note in report.versions:
        click.echo(f"Versions: {note}")
    for warning in report.warnings:
        click.echo(f"Warning: {warning}")
    for ignored in report.ignored:
        click.echo(f"Ignored: {ignored}")
    workbook = report.workbook
    for conflict in workbook.conflicts:
        click.echo(
            f"Conflict: sheet {conflict.sheet}, employee {conflict.employee_id}, "
            f"field {conflict.key}: {conflict.reason}"
        )
    click.echo(
        f"Found {report.found} file(s): {report.new} new, {report.already_collected} "
        f"already collected; accepted {len(report.accepted)}, quarantined "
        f"{len(report.quarantined)}."
    )
    click.echo(
        f"Answers workbook: {workbook.path} ({workbook.updated_cells} cell(s) updated, "
        f"{workbook.kept_hr_edits} HR edit(s) kept, {len(workbook.conflicts)} conflict(s))."
    )


@cli.command()
@roster_options
@cycle_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON for scripts.")
@click.pass_obj
def status(workspace: Workspace, roster, sheet, cycle, as_json):
    """Show forms generated, returned, missing and quarantined, per manager and department."""
    from .status import cycle_status

    report = cycle_status(workspace, cycle, roster, sheet)
    if as_json:
        click.echo(report.to_json())
        return
    click.echo(
        f"Cycle {report.cycle}: {report.employees} employees, {report.forms_generated} "
        f"forms; returned: {report.returned.get('employee', 0)} employee, "
        f"{report.returned.get('manager', 0)} manager; quarantined files: "
        f"{report.quarantined}."
    )
    for title, groups in (
        ("Per manager", report.by_manager),
        ("Per department", report.by_department),
    ):
        click.echo(f"\n{title}:")
        click.echo(f"  {'':38} {'people':>6} {'empl.':>6} {'mgr.':>6} {'warn.':>6}")
        for group in groups:
            click.echo(
                f"  {group.name[:38]:38} {group.employees:>6} "
                f"{group.returned_employee:>6} {group.returned_manager:>6} "
                f"{group.with_warnings:>6}"
            )
    missing = [line for group in report.by_manager for line in group.missing]
    if missing:
        click.echo("\nMissing:")
        for line in missing:
            click.echo(f"  {line}")
