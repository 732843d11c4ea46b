"""The ``samtale`` command: each subcommand parses options and calls one library function."""

from __future__ import annotations

import sys
import traceback
from contextlib import ExitStack, contextmanager
from pathlib import Path

import click

from pipeline import __version__
from pipeline.domain.kinds import ALL_FORM_KINDS, DEFAULT_LANGUAGE, LANGUAGES
from pipeline.errors import ExitCode, SamtaleError, plain_reason
from pipeline.state.workspace import Workspace, current_cycle

UNEXPECTED = (
    "samtale stopped on something it did not expect; a file it was reading may be damaged "
    "({reason}). Run the same command as 'samtale --traceback …' to see the details, and pass "
    "them on to whoever looks after samtale"
)
STATUS_COLUMNS = ("people", "forms", "empl.", "mgr.", "missing", "warn.", "quar.")
CYCLE_HELP = "Review cycle (year). Default: the current year."
# The group's --help text (README's command reference is generated from it).
CLI_HELP = """Run the yearly employee review (medarbeidersamtale) from Word documents.

A January cycle: check → generate → send → collect → status → minutes → finalize → verify.

The first time, 'samtale init DIR' makes a workspace: folders, templates and samtale.toml.
"""


class WorkspaceCommand(click.Command):
    """A command that needs a workspace: outside one it says so and suggests 'samtale init'."""

    def invoke(self, ctx: click.Context):
        """Return the command's result, after checking that it runs in a workspace."""
        workspace = ctx.find_object(Workspace).require()
        for path in workspace.remove_stale_temp_files():  # a killed run cannot clean up itself
            click.echo(
                f"Cleaned up: {path} (half-written by a samtale run that was stopped)", err=True
            )
        return super().invoke(ctx)


class SamtaleGroup(click.Group):
    """A click group that turns our exceptions into 'Error: …' and an exit status."""

    command_class = WorkspaceCommand  # every command needs a workspace, except init

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Return the commands in the order of a review cycle, not alphabetically."""
        return list(self.commands)

    def invoke(self, ctx: click.Context):
        """Return the command's result; our errors become 'Error: …' and their exit status."""
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
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - no user should read a Python traceback
            if ctx.meta.get("traceback"):
                traceback.print_exc()
            click.echo(f"Error: {UNEXPECTED.format(reason=plain_reason(exc))}", err=True)
            ctx.exit(int(ExitCode.ERROR))


@click.group(
    cls=SamtaleGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    help=CLI_HELP,
)
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
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, _param, value: print_version(ctx, value),
    help="Show the version of samtale and of its templates, and exit.",
)
@click.pass_context
def cli(ctx, workspace, input_dir, templates_dir, output_dir, traceback):
    """Run the yearly employee review (medarbeidersamtale) from Word documents."""
    ctx.meta["traceback"] = traceback
    ctx.obj = Workspace.at(
        workspace, input_dir=input_dir, templates_dir=templates_dir, output_dir=output_dir
    )


def print_version(ctx: click.Context, value: bool) -> None:
    """Print samtale's version and the version of the templates it ships, then exit."""
    if not value or ctx.resilient_parsing:
        return
    from pipeline.formats.shipped import shipped_version

    try:
        templates = f"templates {shipped_version()}"
    except SamtaleError as exc:
        templates = f"templates missing: {exc}"
    click.echo(f"samtale, version {__version__} ({templates})")
    ctx.exit()


@contextmanager
def progress_bar(label: str):
    """Yield a progress callback (done, total) drawing a bar on stderr."""
    # The bar starts at the first call, so an error found before any work prints nothing else.
    with ExitStack() as stack:
        bars = []

        def progress(done: int, total: int) -> None:
            if not sys.stderr.isatty():
                return  # no bar in logs and pipes: it would glue its label to other output
            if not bars:
                bar = click.progressbar(length=1, label=label, file=sys.stderr)
                bars.append(stack.enter_context(bar))
            bars[0].length = max(total, 1)
            bars[0].update(done - bars[0].pos)

        yield progress


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
    from pipeline.commands.check import check_workspace

    report = check_workspace(workspace, roster, sheet)
    languages = ", ".join(f"{n} {lang}" for lang, n in sorted(report.languages.items()))
    click.echo(
        f"Roster OK: {len(report.roster.employees)} employees, {report.departments} "
        f"departments, {report.managers} managers ({languages})."
    )
    click.echo(f"Templates OK: {', '.join(report.templates)}.")
    for warning in report.warnings:
        click.echo(f"Warning: {warning}", err=True)


@cli.command()
@roster_options
@cycle_option
@click.option(
    "--previous",
    type=click.Path(path_type=Path),
    help="Last cycle's answers workbook; fills last year's agreements into the forms. When "
    "retention removed it, the sealed minutes in output/archive/<year>/ are read instead.",
)
@click.option("--force", is_flag=True, help="Also replace forms already handed out.")
@click.option(
    "--workers", type=click.IntRange(1, 64), help="Processes to use (default: all cores)."
)
@click.option(
    "--new-key",
    is_flag=True,
    help="Only when .samtale/secret.key is lost for good: make a new one (forms already "
    "issued stay recognised).",
)
@click.pass_obj
def generate(workspace: Workspace, roster, sheet, cycle, previous, force, workers, new_key):
    """Write the employee's and the manager's preparation form for every employee."""
    from pipeline.commands.generate import generate_forms

    with progress_bar("Generating forms") as progress:
        report = generate_forms(
            workspace,
            cycle,
            roster_path=roster,
            sheet=sheet,
            previous_path=previous,
            force=force,
            workers=workers,
            progress=progress,
            new_key=new_key,
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


@cli.command()
@roster_options
@cycle_option
@click.option(
    "--kind",
    type=click.Choice(["prep", "minutes", "reminder", "invite", "followups", "reflection"]),
    default="prep",
    show_default=True,
    help="Which emails: prep forms, minutes forms, reminders, meeting requests for the "
    "scheduled talks (invite), the agreed follow-ups as meeting requests (followups), or the "
    "managers' reflection after their last talk.",
)
@click.option(
    "--deadline",
    help="Reply deadline (YYYY-MM-DD or DD.MM.YYYY); default: [mail] deadline in samtale.toml.",
)
@click.option(
    "--smtp",
    "smtp_address",
    metavar="HOST:PORT",
    help="Send through this SMTP server instead of writing drafts to the outbox.",
)
@click.option(
    "--tls",
    type=click.Choice(["starttls", "ssl", "none"]),
    default="starttls",
    show_default=True,
    help="SMTP security; 'none' only for a server on this machine.",
)
@click.option("--dry-run", is_flag=True, help="Print who would get what; send and write nothing.")
@click.pass_obj
def send(workspace: Workspace, roster, sheet, cycle, kind, deadline, smtp_address, tls, dry_run):
    """Email the forms (or reminders): .eml drafts in the outbox, or SMTP; never twice."""
    from pipeline.commands.send import send_for_cycle

    with progress_bar("Emails") as progress:
        report = send_for_cycle(
            workspace,
            cycle,
            kind,
            roster_path=roster,
            sheet=sheet,
            smtp_address=smtp_address,
            tls=tls,
            deadline=deadline,
            dry_run=dry_run,
            progress=progress,
        )
    if dry_run:
        for email in report.pending:
            click.echo(f"Would send: {email.describe()}")
    for note in report.notes:
        click.echo(f"Note: {note}")
    for outcome in report.failed:
        click.echo(f"Not sent: {outcome.email.describe()}: {outcome.detail}", err=True)
    if report.stopped:
        click.echo(f"Stopped early: {report.stopped}. Run send again to go on.", err=True)
    where = f" in {report.outbox}" if report.outbox and report.drafted else ""
    click.echo(
        f"{len(report.planned)} email(s) planned: {len(report.drafted)} draft(s) written"
        f"{where}, {len(report.sent)} sent, {len(report.skipped)} done earlier, "
        f"{len(report.failed)} not sent."
    )
    if report.undelivered or report.stopped:  # done, but some emails did not go out
        raise click.exceptions.Exit(int(ExitCode.PARTIAL))


@cli.command()
@click.option(
    "--from",
    "source",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder where HR saved the returned files (default: input/returned/<cycle>/ when it "
    "exists, else input/returned/).",
)
@roster_options
@cycle_option
@click.option(
    "--workers", type=click.IntRange(1, 64), help="Processes to use (default: all cores)."
)
@click.option(
    "--use",
    metavar="FILE",
    help="Use this returned file (path as a 'Versions:' line prints it) as its form's version, "
    "as it is.",
)
@click.pass_obj
def collect(workspace: Workspace, source, roster, sheet, cycle, workers, use):
    """Screen returned forms (.docx, .eml, .msg, winmail.dat), keep copies, update answers."""
    from pipeline.commands.collect import collect_returned

    with progress_bar("Screening returned files") as progress:
        report = collect_returned(
            workspace,
            cycle,
            source,
            roster_path=roster,
            sheet=sheet,
            workers=workers,
            progress=progress,
            use=use,
        )
    for source_name, reason in report.quarantined:
        click.echo(f"Quarantined: {source_name}: {reason}")
    for note in report.versions:
        click.echo(f"Versions: {note}")
    for warning in report.warnings:
        click.echo(f"Warning: {warning}")
    for note in report.minutes:
        click.echo(f"Minutes: {note}")
    for ignored in report.ignored:
        click.echo(f"Ignored: {ignored}")
    workbook = report.workbook
    for sheet_name, key in workbook.restored_columns:
        click.echo(
            f"Warning: {workbook.path.name}: column {key} of sheet {sheet_name} was missing "
            "(deleted?); it is back, filled from the returned forms"
        )
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
    from pipeline.commands.status import cycle_status

    report = cycle_status(workspace, cycle, roster, sheet)
    if as_json:
        click.echo(report.to_json())
        return
    if report.working_files_removed:
        click.echo(f"Cycle {report.cycle}: {report.working_files_removed}.")
        return
    kinds = [k for k in ALL_FORM_KINDS if report.generated.get(k)]
    click.echo(
        f"Cycle {report.cycle}: {report.employees} employees; quarantined files: "
        f"{report.quarantined}."
    )
    for kind in kinds:
        click.echo(
            f"  {kind} forms: {report.generated[kind]} generated, "
            f"{report.returned.get(kind, 0)} returned"
        )
    for title, groups in (
        ("Per manager", report.by_manager),
        ("Per department", report.by_department),
    ):
        click.echo(f"\n{title}:")
        click.echo(f"  {'':44}" + "".join(f"{c:>8}" for c in STATUS_COLUMNS))
        for group in groups:
            values = (
                group.employees,
                group.generated,
                group.returned_employee,
                group.returned_manager,
                len(group.missing),
                group.with_warnings,
                group.quarantined,
            )
            click.echo(f"  {short(group.name, 44):44}" + "".join(f"{v:>8}" for v in values))
    click.echo(
        "\n(empl./mgr.: forms back from employees / managers; missing: people with a "
        "form not back; warn.: returned forms with warnings; quar.: files they sent "
        "that went to quarantine)"
    )
    missing = [line for group in report.by_manager for line in group.missing]
    if missing:
        click.echo("\nMissing:")
        for line in missing:
            click.echo(f"  {line}")
    if report.left_roster:
        click.echo("\nNo longer in the roster (not counted above; their forms are kept):")
        for line in report.left_roster:
            click.echo(f"  {line}")
    if report.manager_changed:
        click.echo("\nManager changed after the forms were made (minutes go to the manager now):")
        for line in report.manager_changed:
            click.echo(f"  {line}")
        click.echo(
            "  Put the earlier manager back in the roster if they hold the talk; otherwise the "
            "new manager should read the manager's preparation first"
        )
    if report.unprepared:
        click.echo("\nTalks soon with a preparation form not back ([schedule] reminder_days):")
        for line in report.unprepared:
            click.echo(f"  {line}")
        click.echo(
            "  Remind them: samtale send --kind reminder; or set a new time: "
            "samtale schedule --reschedule EMPLOYEE_ID"
        )


@cli.command()
@roster_options
@cycle_option
@click.option(
    "--allow-missing", is_flag=True, help="Also write minutes when a preparation form is not back."
)
@click.option("--force", is_flag=True, help="Also replace minutes forms already handed out.")
@click.pass_obj
def minutes(workspace: Workspace, roster, sheet, cycle, allow_missing, force):
    """Write the manager's minutes form for everyone whose two prep forms are back."""
    from pipeline.commands.minutes import prepare_minutes

    report = prepare_minutes(
        workspace, cycle, roster_path=roster, sheet=sheet, allow_missing=allow_missing, force=force
    )
    for line in report.waiting:
        click.echo(f"Waiting for: {line}")
    for warning in report.forms.warnings:
        click.echo(f"Warning: {warning}", err=True)
    click.echo(
        f"Minutes forms: {len(report.forms.written)} written, {report.forms.unchanged} "
        f"unchanged, {len(report.waiting)} employee(s) still waiting for prep forms."
    )
    click.echo(f"Forms are in {report.forms.forms_dir}")


@cli.command()
@roster_options
@cycle_option
@click.option(
    "--cert",
    type=click.Path(dir_okay=False, resolve_path=True, path_type=Path),
    help="The organisation's PKCS#12 seal (default: [seal] certificate in samtale.toml)."
    " Password: SAMTALE_SEAL_PASSWORD, or asked for.",
)
@click.pass_obj
def finalize(workspace: Workspace, roster, sheet, cycle, cert):
    """Seal the minutes confirmed by both into PDF/A and archive them."""
    from pipeline.commands.finalize import finalize_minutes
    from pipeline.formats.seal import seal_password

    def password() -> str:  # asked only when something is to be sealed
        return seal_password(
            prompt=lambda text: click.prompt(text, hide_input=True, err=True, prompt_suffix="")
        )

    report = finalize_minutes(
        workspace, cycle, certificate=cert, password=password, roster_path=roster, sheet=sheet
    )
    for item in report.not_confirmed:
        click.echo(
            f"Not confirmed: {item.name} ({item.employee_id}): missing {'; '.join(item.missing)}"
        )
    for item in report.failed:
        click.echo(f"Failed: {item.name} ({item.employee_id}): {item.reason}", err=True)
    for item in report.archived:
        click.echo(f"Archived: {item.path}")
    click.echo(
        f"{len(report.archived)} sealed PDF(s) archived, "
        f"{len(report.skipped_already_archived)} already archived, "
        f"{len(report.not_confirmed)} not confirmed yet, {len(report.failed)} failed. "
        f"Archive: {report.archive_dir}"
    )
    if report.failed:  # done, but some PDFs were not sealed
        raise click.exceptions.Exit(int(ExitCode.PARTIAL))


@cli.command()
@click.option(
    "--cycle",
    type=click.IntRange(2000, 2100),
    help="Verify every PDF of this cycle (default: the current year, unless PATHs are given).",
)
@click.option(
    "--cert",
    type=click.Path(dir_okay=False, resolve_path=True, path_type=Path),
    help="Seal certificate the PDFs must carry (default: the configured one).",
)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.pass_obj
def verify(workspace: Workspace, cycle, cert, paths):
    """Check archived PDFs: seal intact over the whole file, right certificate, manifest hash."""
    from pipeline.commands.verify import verify_cycle

    if not paths and cycle is None:
        cycle = current_cycle()
    results = verify_cycle(workspace, cycle, paths, certificate=cert)
    for result in results:
        status = "OK  " if result.ok else "FAIL"
        detail = verify_detail(result)
        click.echo(f"{status} {result.path}{detail}")
    failures = sum(not r.ok for r in results)
    click.echo(f"{len(results) - failures} of {len(results)} file(s) verified.")
    if failures:
        raise click.exceptions.Exit(int(ExitCode.ERROR))


@cli.command(cls=click.Command)
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--language",
    type=click.Choice(LANGUAGES),
    default=DEFAULT_LANGUAGE,
    show_default=True,
    help="Language of the first-run guide (LESMEG.txt in nb, README.txt in en).",
)
@click.option("--organisation", metavar="NAME", help="The organisation's name for samtale.toml.")
@click.option(
    "--allow-nonempty",
    is_flag=True,
    help="Also use a folder that is not empty: add only what is missing, overwrite nothing.",
)
def init(folder, language, organisation, allow_nonempty):
    """Make a workspace: input/, output/, templates/, a commented samtale.toml and a guide."""
    from pipeline.commands.init import init_workspace

    report = init_workspace(
        folder, language=language, organisation=organisation, allow_nonempty=allow_nonempty
    )
    for path in report.kept:
        click.echo(f"Kept: {path} (already there, not overwritten)")
    workspace = report.workspace
    click.echo(
        f"Workspace ready in {workspace.root}: {len(report.written)} file(s) written, "
        f"{len(report.kept)} kept."
    )
    click.echo(
        f"Next: read {report.guide.name}, put the roster in {workspace.roster_path}, fill in "
        f"{workspace.config_path.name}, then run 'samtale check' in {workspace.root}."
    )


@cli.command()
@roster_options
@cycle_option
@click.option(
    "--reschedule",
    "employee_id",
    metavar="EMPLOYEE_ID",
    help="Move this employee's talk to the next free time (after its day, and [schedule] "
    "reminder_days working days from today).",
)
@click.option(
    "--dry-run", is_flag=True, help="Show the schedule; write neither schedule.xlsx nor the ledger."
)
@click.pass_obj
def schedule(workspace: Workspace, roster, sheet, cycle, employee_id, dry_run):
    """Find a time for every talk (output/<cycle>/schedule.xlsx); HR's moves are kept."""
    from pipeline.commands.schedule import schedule_talks

    report = schedule_talks(
        workspace, cycle, roster_path=roster, sheet=sheet, dry_run=dry_run, reschedule=employee_id
    )
    for warning in report.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if dry_run:
        for line in report.new:
            click.echo(f"Would schedule: {line.describe()}")
    for title, lines in (("Moved", report.moved), ("Cancelled", report.cancelled)):
        for line in lines:
            click.echo(f"{title}: {line.describe()}" + (f" ({line.note})" if line.note else ""))
    for conflict in report.conflicts:
        click.echo(f"Conflict: {conflict}")
    for reason in report.unscheduled:
        click.echo(f"No time: {reason}")
    click.echo(
        f"{len(report.talks)} talk(s) from {report.first_day} to {report.last_day}: "
        f"{len(report.new)} new, {len(report.moved)} moved, {len(report.cancelled)} cancelled, "
        f"{len(report.conflicts)} in conflict, {len(report.unscheduled)} without a time; "
        f"{report.calendars} calendar(s) read."
    )
    if report.missing_days:
        click.echo(
            f"The period is {report.missing_days} working day(s) too short: set last_day = "
            f"{report.fits_by} under [schedule] in samtale.toml to fit every talk."
        )
    if report.rescheduled:
        click.echo(f"Rescheduled: {report.rescheduled.describe()}")
    if dry_run:
        click.echo("Dry run: nothing was written.")
    else:
        click.echo(f"Schedule: {report.path}. Next: samtale send --kind invite --cycle {cycle}")
    if not report.ok:
        raise click.exceptions.Exit(int(ExitCode.PARTIAL))


@cli.command()
@roster_options
@click.option(
    "--apply",
    "apply_rules",
    is_flag=True,
    help="Delete what is due and note every file in output/deletions.jsonl (default: only list).",
)
@click.pass_obj
def retention(workspace: Workspace, roster, sheet, apply_rules):
    """List what the [retention] rules in samtale.toml say may be deleted; --apply deletes it."""
    from pipeline.commands.retention import apply_retention

    report = apply_retention(workspace, apply=apply_rules, roster_path=roster, sheet=sheet)
    if report.finished:
        click.echo(f"Finished {report.finished} deletion(s) an earlier run left half-done.")
    if report.interrupted:
        click.echo(
            f"{report.interrupted} earlier deletion(s) were interrupted; "
            "'samtale retention --apply' finishes them first.",
            err=True,
        )
    if report.leavers:
        click.echo(f"Gone from the roster, noted today: {', '.join(report.leavers)}.")
    verb = "deleted" if report.applied else "due"
    for rule in report.rules:
        click.echo(f"Rule {rule.rule} ({rule.setting}):")
        for due in rule.due:
            click.echo(f"  cycle {due.cycle}: {verb}: {due.why}")
            for kind, (files, size) in sorted(due.counts.items()):
                click.echo(f"    {kind}: {files} file(s), {size:,} bytes")
        for line in rule.kept:
            click.echo(f"  {line}")
        for line in rule.refused:
            click.echo(f"  {line}", err=True)
        if not (rule.due or rule.kept or rule.refused):
            click.echo("  nothing to do")
    if report.applied:
        click.echo(f"{report.deleted} file(s) deleted; each one is noted in {report.log_path}.")
    else:
        click.echo(f"{report.deleted} file(s) due; nothing was deleted (run with --apply).")
    if report.applied and report.refused:
        raise click.exceptions.Exit(int(ExitCode.PARTIAL))


@cli.command()
@roster_options
@click.argument("employee_id")
@click.pass_obj
def access(workspace: Workspace, roster, sheet, employee_id):
    """Gather everything samtale holds about one person into one zip, for an access request."""
    from pipeline.commands.access import access_bundle

    report = access_bundle(workspace, employee_id, roster_path=roster, sheet=sheet)
    for path in report.unclear:
        click.echo(
            f"Check by hand: {path} (they sent it; samtale cannot tell whom it is about, so it "
            "is not in the zip)",
            err=True,
        )
    if report.path is None:
        click.echo(f"samtale holds nothing about employee {report.employee_id}; no zip written.")
        return
    cycles = ", ".join(map(str, report.cycles))
    click.echo(
        f"Access bundle: {report.path} ({report.files} file(s) from {cycles}; index in "
        f"{report.language})."
    )
    click.echo(f"SHA-256: {report.sha256}")


@cli.command()
@roster_options
@click.argument("employee_id")
@click.option(
    "--apply",
    "apply_erase",
    is_flag=True,
    help="Erase and note every file in output/deletions.jsonl (default: only list).",
)
@click.option(
    "--archive",
    "with_archive",
    is_flag=True,
    help="Also delete their sealed minutes (needs --reason).",
)
@click.option(
    "--reason",
    metavar="TEXT",
    default="",
    help="Why the sealed minutes go; kept in the deletion log (write no names).",
)
@click.pass_obj
def erase(workspace: Workspace, roster, sheet, employee_id, apply_erase, with_archive, reason):
    """Remove one person's working data from every cycle; sealed minutes only with --archive."""
    from pipeline.commands.erase import erase_person

    if with_archive and not reason.strip():
        raise click.UsageError("--archive needs --reason TEXT (it goes into the deletion log)")
    if reason and not with_archive:
        raise click.UsageError("--reason goes with --archive")
    report = erase_person(
        workspace,
        employee_id,
        apply=apply_erase,
        archive=with_archive,
        reason=reason,
        roster_path=roster,
        sheet=sheet,
    )
    if report.finished:
        click.echo(f"Finished {report.finished} deletion(s) an earlier run left half-done.")
    if report.interrupted:
        click.echo(
            f"{report.interrupted} earlier deletion(s) were interrupted; "
            "'samtale erase … --apply' finishes them first.",
            err=True,
        )
    verb = "erased" if report.applied else "to erase"
    for cycle in report.cycles:
        label = f"cycle {cycle.cycle}" if cycle.cycle else "access bundles"
        counts = ", ".join(f"{kind} {n}" for kind, (n, _) in sorted(cycle.counts.items()))
        click.echo(f"  {label}: {verb}: {counts}")
    if report.shared_emails:
        click.echo(
            f"{report.shared_emails} email(s) that also concern others stay, without their part."
        )
    if report.kept_archive:
        click.echo(
            f"Kept: {report.kept_archive} sealed file(s) in the archive (add --archive "
            "--reason TEXT to delete them too)."
        )
    if report.still_in_roster:
        click.echo(
            f"Warning: {report.employee_id} is still in the roster; the next generate or "
            "collect makes new data about them. Remove them from the roster first.",
            err=True,
        )
    for path in report.originals:
        click.echo(
            f"Still in HR's folder: {path} holds data about them; samtale only reads "
            "input/, so delete it there (or remove their attachment)",
            err=True,
        )
    if report.nothing:
        click.echo(f"samtale holds no working data about employee {report.employee_id}.")
    elif report.applied:
        click.echo(f"Erased; every file is noted in {workspace.output_dir / 'deletions.jsonl'}.")
    else:
        click.echo("Nothing was erased (run with --apply).")


def compared_cycle(value: str | None) -> int | Path | None:
    """Return --compare-with as a cycle (a year) or the path of an answers workbook."""
    if value is None or not value.strip().isdigit():
        return Path(value) if value else None
    year = int(value)
    if not 2000 <= year <= 2100:
        raise click.BadParameter(
            f"{value} is not a year from 2000 to 2100", param_hint="--compare-with"
        )
    return year


@cli.command()
@roster_options
@cycle_option
@click.option(
    "--compare-with",
    "compare_with",
    metavar="CYCLE|FILE",
    help="Compare with this cycle (its answers.xlsx or its archive) or an answers workbook "
    "(default: last year's, when output/ has it).",
)
@click.pass_obj
def report(workspace: Workspace, roster, sheet, cycle, compare_with):
    """Write the HR report of the cycle: an HTML page and report.xlsx, with charts."""
    from pipeline.commands.report import write_report

    result = write_report(
        workspace,
        cycle,
        compare_with=compared_cycle(compare_with),
        roster_path=roster,
        sheet=sheet,
    )
    compared = f", compared with {result.compared}" if result.compared else ""
    click.echo(
        f"Report of {result.cycle}{compared}: {result.tables} tables; {result.hidden_cells} "
        f"cell(s) withheld (groups too small, or no answers); language: {result.language}."
    )
    verb = "Replaced" if result.replaced else "Wrote"
    click.echo(f"{verb}: {result.html}")
    click.echo(f"{verb}: {result.xlsx}")


def short(name: str, width: int) -> str:
    """Return ``name`` cut to ``width`` characters, keeping a trailing '(id)'."""
    if len(name) <= width:
        return name
    head, _, tail = name.rpartition(" (")
    suffix = f" ({tail}" if head else ""
    return name[: width - len(suffix) - 1] + "…" + suffix


def verify_detail(result) -> str:
    """Return what to print after one verified file: seal facts or the problems."""
    if not result.ok:
        return ": " + "; ".join(result.problems)
    note = f"; {result.note}" if getattr(result, "note", "") else ""
    if result.signed_at:
        return f" (sealed {result.signed_at} by {result.subject}{note})"
    if note and result.path.name == "manifest.jsonl":
        return f" ({result.note})"
    return " (matches the manifest)"


def main() -> None:
    """Run the command line interface."""
    cli(prog_name="samtale")
