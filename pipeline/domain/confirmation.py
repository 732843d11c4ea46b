"""Whether returned minutes are confirmed by both the manager and the employee."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.domain.kinds import FormKind
from pipeline.domain.versions import version_order
from pipeline.state.ledger import ReturnedVersion

SIGN_OFF_EMPLOYEE = ("employee_confirmed", "employee_name", "employee_date")
NOT_CONTENT = (*SIGN_OFF_EMPLOYEE, "manager_date")  # a new confirmation may carry a new date
MINUTES = FormKind.MINUTES


@dataclass(frozen=True)
class MinutesState:
    """Where one employee's minutes stand: confirmed by both, or what is missing."""

    employee_id: str
    confirmed: bool
    final: ReturnedVersion | None
    missing: tuple[str, ...] = ()
    versions: tuple[ReturnedVersion, ...] = ()


def minutes_states(versions: list[ReturnedVersion]) -> dict[str, MinutesState]:
    """Return the confirmation state of every employee's returned minutes."""
    grouped: dict[str, list[ReturnedVersion]] = {}
    for version in versions:
        if version.kind == MINUTES:
            grouped.setdefault(version.employee_id, []).append(version)
    return {
        employee_id: minutes_state(employee_id, versions)
        for employee_id, versions in grouped.items()
    }


RECONFIRM = (
    "the manager's new confirmation: the employee's version changes the minutes after the "
    "manager confirmed them; the manager must confirm again (tick, new date, and return it)"
)


def minutes_state(employee_id: str, versions: list[ReturnedVersion]) -> MinutesState:
    """Return whether the newest minutes are confirmed by both, and if not, what is missing."""
    ordered = tuple(sorted(versions, key=version_order))
    latest = ordered[-1]
    missing = []
    if latest.answers.get("manager_confirmed") is not True:
        missing.append("the manager's confirmation")
    if latest.answers.get("employee_confirmed") is not True:
        missing.append("the employee's confirmation")
    if not missing and not manager_confirmed_content(ordered):
        missing.append(RECONFIRM)
    return MinutesState(
        employee_id, not missing, latest if not missing else None, tuple(missing), ordered
    )


def manager_confirmed_content(ordered: tuple[ReturnedVersion, ...]) -> bool:
    """Return whether the manager confirmed the newest content after it was last changed."""
    # The version that changed the content counts as the manager's confirmation when the
    # employee had not ticked it (the manager's turn); otherwise a later version of the same
    # content without the employee's tick, or with a new manager date, is the manager's.
    changed = last_change(ordered)
    if changed is None:
        return True  # one content all along: confirmed together
    changer = ordered[changed]
    if changer.answers.get("employee_confirmed") is not True:
        return True
    date = changer.answers.get("manager_date")
    return any(
        later.answers.get("employee_confirmed") is not True
        or later.answers.get("manager_date") not in (None, "", date)
        for later in ordered[changed + 1 :]
    )


def last_change(ordered: tuple[ReturnedVersion, ...]) -> int | None:
    """Return the index of the version that last changed the minutes' content, or None."""
    for index in range(len(ordered) - 1, 0, -1):
        if content(ordered[index]) != content(ordered[index - 1]):
            return index
    return None


def content(version: ReturnedVersion) -> dict:
    """Return the minutes' answers without the employee's sign-off and the manager's date."""
    return {k: v for k, v in version.answers.items() if k not in NOT_CONTENT}
