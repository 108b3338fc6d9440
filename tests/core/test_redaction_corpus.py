"""The labelled corpus (tests/core/redaction_corpus.py): every secret found, nothing else touched."""

import re

import pytest

from apps.core.redaction import redact
from tests.core.redaction_corpus import NEGATIVES, POSITIVES


def test_the_corpus_is_large_enough():
    assert len(POSITIVES) >= 100
    assert len(NEGATIVES) >= 100
    assert len(set(NEGATIVES)) == len(NEGATIVES)


@pytest.mark.parametrize(("text", "expected", "kinds"), POSITIVES, ids=[p.text[:60] for p in POSITIVES])
def test_every_secret_is_redacted(text, expected, kinds):
    assert redact(text) == (expected, list(kinds))


def test_recall_is_complete():
    """No digit of a secret survives: what digits remain are the ones the expected text keeps."""
    for text, expected, _ in POSITIVES:
        assert re.findall(r"\d", redact(text)[0]) == re.findall(r"\d", expected), text


@pytest.mark.parametrize("text", NEGATIVES)
def test_nothing_else_is_redacted(text):
    assert redact(text) == (text, [])


@pytest.mark.parametrize("text", [p.text for p in POSITIVES] + NEGATIVES)
def test_redacting_twice_changes_nothing_more(text):
    once = redact(text)[0]
    assert redact(once) == (once, [])
