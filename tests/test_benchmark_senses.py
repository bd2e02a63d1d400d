"""
`benchmarks/senses.py`'s pure parts: which gold frames it scores, the most-frequent-sense
baseline (ties, unseen lemmas, our lemmatizer's table) and the accuracy on ambiguous lemmas.
"""

from benchmarks.senses import (
    Accuracy,
    ambiguous_lemmas,
    baseline_guesses,
    gold_frames,
    lemma_rolesets,
    most_frequent_sense,
    most_frequent_senses,
)
from srl_plugin.hf.conll import read_conll2012
from srl_plugin.hf.senses import predicate_lemma
from tests import SENSES_FIXTURE


def fixture_frames():
    return gold_frames(read_conll2012(str(SENSES_FIXTURE), keep_lines=True))


def test_gold_frames_skip_frames_without_a_roleset():
    frames, skipped = fixture_frames()
    # 13 frames; `said` has no roleset (column 8 is `-`).
    assert skipped == 1
    assert len(frames) == 12
    assert "said" not in [frame.text for frame in frames]
    ran = [frame for frame in frames if frame.text == "ran"][0]
    assert (ran.lemma, ran.roleset, ran.words[ran.predicate[0]]) == ("run", "run.02", "ran")


def test_most_frequent_sense_baseline():
    frames, _ = fixture_frames()
    counts = lemma_rolesets(frames)
    table = most_frequent_senses(counts)
    # run: run.02 five times, run.01 four; have: one each, so the smaller id.
    assert table == {"run": "run.02", "have": "have.01", "see": "see.01"}
    assert ambiguous_lemmas(counts) == {"run", "have"}
    assert most_frequent_sense(table, "walk") == "walk.01"
    accuracy = Accuracy.of(baseline_guesses(table, frames, None), frames, {"run", "have"})
    assert (accuracy.correct, accuracy.total) == (7, 12)
    assert (accuracy.ambiguous_correct, accuracy.ambiguous_total) == (6, 11)
    assert Accuracy.cell(accuracy.correct, accuracy.total) == "0.5833 (7/12)"


def test_the_raw_text_baseline_keys_train_and_evaluation_by_our_lemmatizer():
    frames, _ = fixture_frames()
    # "runs", "ran", "has", "seen": the lemmatizer finds the gold lemmas here.
    assert lemma_rolesets(frames, predicate_lemma) == lemma_rolesets(frames)
    table = most_frequent_senses({"ran": lemma_rolesets(frames)["run"]})
    guesses = baseline_guesses(table, frames, lambda text: text.lower())
    assert [g for g, f in zip(guesses, frames) if f.text == "ran"] == ["run.02", "run.02"]
    assert [g for g, f in zip(guesses, frames) if f.text == "runs"][0] == "runs.01"
