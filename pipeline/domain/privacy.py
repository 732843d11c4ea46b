"""Which groups' figures a report may show without singling anybody out.

A figure built from answers is shown only for a group of at least ``threshold`` people who
answered. Hiding the small groups is not enough when the whole is shown as well: the total minus
the groups shown is the hidden rest, so the hidden groups together must also reach the threshold
(or be nobody). When they do not, the smallest groups still shown are hidden too, one at a time,
until they do ("complementary suppression"). Every table of one breakdown goes through here on
its own: each question has its own respondents, and each cycle of a comparison its own people.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Hidden(StrEnum):
    """Why a group's figures are hidden."""

    NONE = ""  # shown
    NOBODY = "nobody"  # no answers at all: nothing to show
    TOO_FEW = "too_few"  # fewer answers than the threshold
    PROTECTS = "protects"  # shown, it would let a hidden group be worked out from the total


@dataclass(frozen=True)
class Disclosure:
    """What may be shown of one breakdown: the total, and each group."""

    total: Hidden
    groups: dict[str, Hidden]

    def shown(self, group: str) -> bool:
        """Return True when ``group``'s figures may be shown."""
        return self.groups.get(group, Hidden.NOBODY) is Hidden.NONE


def disclose(respondents: dict[str, int], threshold: int) -> Disclosure:
    """Return what may be shown of groups with these many respondents, and of their total."""
    total = sum(respondents.values())
    hidden = {group: too_small(count, threshold) for group, count in respondents.items()}
    whole = too_small(total, threshold)
    if whole is Hidden.NONE:
        while 0 < hidden_count(respondents, hidden) < threshold:
            candidates = [g for g, c in respondents.items() if hidden[g] is Hidden.NONE and c > 0]
            if not candidates:
                break
            smallest = min(candidates, key=lambda g: (respondents[g], g))
            hidden[smallest] = Hidden.PROTECTS
    return Disclosure(whole, hidden)


def too_small(count: int, threshold: int) -> Hidden:
    """Return why a group of ``count`` respondents is hidden on its own (NONE: it is not)."""
    if count == 0:
        return Hidden.NOBODY
    return Hidden.TOO_FEW if count < threshold else Hidden.NONE


def hidden_count(respondents: dict[str, int], hidden: dict[str, Hidden]) -> int:
    """Return how many respondents the hidden groups have together."""
    return sum(count for group, count in respondents.items() if hidden[group] is not Hidden.NONE)
