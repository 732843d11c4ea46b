"""Which returned version of a form counts: the rule every stage that reads answers shares."""

from __future__ import annotations

from pipeline.state.ledger import ReturnedVersion


def newest_versions(
    versions: list[ReturnedVersion], notes: list[str] | None = None, touched: set | None = None
) -> dict:
    """Return the newest version per (employee id, kind), noting forms returned several times."""
    # A note goes to ``notes`` for each form returned more than once (only forms in ``touched``,
    # when given: those that got a new version in this run).
    grouped: dict[tuple[str, str], list[ReturnedVersion]] = {}
    for version in versions:
        grouped.setdefault((version.employee_id, version.kind), []).append(version)
    winners = {}
    for key, group in sorted(grouped.items()):
        group.sort(key=version_order)
        winners[key] = group[-1]
        if len(group) > 1 and notes is not None and (touched is None or key in touched):
            notes.append(
                f"{key[1]} form of {key[0]}: {len(group)} versions kept; the newest "
                f"({group[-1].source}, {group[-1].returned_at}) is used"
            )
    return winners


def version_order(version: ReturnedVersion) -> tuple:
    """Return the sort key of a returned version: when it was last saved, then when it arrived."""
    # The document's own save time comes first (an attachment saved from Outlook weeks later
    # keeps it); versions that agree on it (or lack it) are ordered by arrival, then collection.
    return (version.saved_at, version.returned_at, version.order)
