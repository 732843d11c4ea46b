"""A question of a form: the one shape every module uses for an answer field.

The Word template defines the questions (a content control's tag is the key, its title the
question); the ledger stores them as JSON with each generated form (``Question.as_dict``).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    """One answer field: its key (the answers' column), the question, its type and choices."""

    key: str
    title: str
    type: str  # richtext | text | dropdown | combobox | checkbox | date | picture | other
    placeholder: str = ""  # the prompt the field shows until it is filled
    options: tuple[str, ...] = ()  # the values of a choice field
    labels: tuple[str, ...] = ()  # the options as the form shows them, in its language
    section: str = ""  # the heading the question stands under
    anchor: int | None = None  # where the field sits among the form's fixed-text lines

    def label_of(self, value: str) -> str:
        """Return the label the form shows for a choice's value (the value when unknown)."""
        labels = dict(zip(self.options, self.labels, strict=False))
        return labels.get(value) or value

    def as_dict(self) -> dict:
        """Return the question as the ledger stores it (JSON-ready)."""
        return {
            "key": self.key,
            "title": self.title,
            "type": self.type,
            "placeholder": self.placeholder,
            "options": list(self.options),
            "labels": list(self.labels),
            "section": self.section,
            "anchor": self.anchor,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Question:
        """Return the question stored as ``data`` (older ledgers lack some entries)."""
        return cls(
            key=data.get("key", ""),
            title=data.get("title", ""),
            type=data.get("type", "other"),
            placeholder=data.get("placeholder", "") or "",
            options=tuple(data.get("options") or ()),
            labels=tuple(data.get("labels") or ()),
            section=data.get("section", "") or "",
            anchor=data.get("anchor"),
        )


def questions_from_json(text: str) -> tuple[Question, ...]:
    """Return the questions a ledger row stores as JSON."""
    return tuple(Question.from_dict(item) for item in json.loads(text))


@functools.lru_cache(maxsize=64)
def sent_questions(text: str) -> tuple[Question, ...]:
    """Return ``questions_from_json(text)``, kept: the forms of one template share their fields."""
    return questions_from_json(text)


def questions_to_json(questions) -> str:
    """Return questions as the JSON a ledger row stores."""
    return json.dumps([q.as_dict() for q in questions], ensure_ascii=False)
