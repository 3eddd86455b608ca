"""The bounce corpus: every sample is read as its sidecar says (RELIABILITY #46, #47).

Each ``tests/corpus/bounces/NAME.eml`` (written for this project in the shapes
real servers produce) has ``NAME.expected.toml``: kind, recipients, status,
source, the delivery its VERP token names, the original Message-ID, and the
action the policy takes when the report is the first for its address. Keys
left out of a sidecar are not checked; ``kind`` and ``action`` are required.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsletter.feedback import Policy, Verp, decide, parse_report
from newsletter.feedback.verp import keys_from

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "bounces"
SAMPLES = sorted(CORPUS.glob("*.eml"))
VERP = Verp(keys_from(["corpus-test-key"]), "clinic.example.com")
NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)


def expected_for(sample: Path) -> dict[str, object]:
    return tomllib.loads(sample.with_suffix(".expected.toml").read_text(encoding="utf-8"))


def test_the_corpus_has_at_least_twenty_samples_each_with_a_sidecar() -> None:
    assert len(SAMPLES) >= 20
    for sample in SAMPLES:
        assert sample.with_suffix(".expected.toml").exists(), sample.name


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda path: path.stem)
def test_each_sample_is_read_and_decided_as_its_sidecar_says(sample: Path) -> None:
    expected = expected_for(sample)
    envelope_to = expected.get("envelope_to")
    report = parse_report(sample.read_bytes(), verp=VERP,
                          envelope_to=str(envelope_to) if envelope_to else None)
    assert report.kind == expected["kind"], report
    for key in ("status", "source", "delivery_id", "original_message_id", "feedback_type"):
        if key in expected:
            assert getattr(report, key) == expected[key], (key, report)
    if "recipients" in expected:
        assert list(report.recipients) == expected["recipients"], report
    if expected.get("forged"):
        assert any("forged" in problem for problem in report.problems), report
    else:
        assert not report.problems, report
    matched = report.delivery_id is not None or report.original_message_id is not None
    decision = decide(report, matched=matched, now=NOW, policy=Policy())
    assert decision.action == expected["action"], decision
