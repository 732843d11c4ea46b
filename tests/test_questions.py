"""Tests for pipeline/domain/questions.py: one question type, stored as JSON in the ledger."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipeline.domain.questions import Question, questions_from_json, questions_to_json

TEXT = st.text("abcæøå _-1.?", max_size=20)


@given(
    st.lists(
        st.builds(
            Question,
            key=st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True),
            title=TEXT,
            type=st.sampled_from(["richtext", "text", "dropdown", "checkbox", "date"]),
            placeholder=TEXT,
            options=st.tuples(TEXT, TEXT),
            labels=st.tuples(TEXT, TEXT),
            section=TEXT,
            anchor=st.none() | st.integers(0, 300),
        ),
        max_size=5,
    )
)
def test_questions_survive_the_ledger_as_they_are(questions):
    assert list(questions_from_json(questions_to_json(questions))) == questions


def test_an_older_ledger_without_labels_or_anchors_still_reads():
    [question] = questions_from_json(
        '[{"key": "period_rating", "title": "Samlet", "type": "dropdown", "options": ["1", "2"]}]'
    )
    assert question.labels == () and question.anchor is None and question.placeholder == ""
    assert question.label_of("2") == "2"  # no label known: the value itself


def test_a_choice_is_shown_with_its_label_in_the_forms_language():
    status = Question(
        "goal_1_status",
        "Status",
        "dropdown",
        options=("achieved", "partly"),
        labels=("Oppnådd", "Delvis"),
    )
    assert status.label_of("achieved") == "Oppnådd"
    assert status.label_of("ukjent") == "ukjent"
