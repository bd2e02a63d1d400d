"""`predicate_sense`: sense accuracy and predicate+sense F1, against counts made by hand."""

import pytest

from srl_plugin.metrics.predicate_f1 import PredicateF1
from srl_plugin.metrics.predicate_sense import FrameSense, PredicateSense, SentencePredicates

# Sentence "a": gold predicates [1] (run.01) and [4] (have.01); the model finds [1], [4] and [6]
# and gives [1] run.01 (right) and [4] have.03 (wrong). Sentence "b": gold [0] has no gold
# roleset and is not found; gold [2, 3] (a two-word predicate, look_up.01) is found and right.
FRAMES = [
    FrameSense("a", [1], "run.01", "run.01"),
    FrameSense("a", [4], "have.03", "have.01"),
    FrameSense("b", [0], "say.01", None),
    FrameSense("b", [2, 3], "look_up.01", "look_up.01"),
]
SENTENCES = [
    SentencePredicates("a", [[1], [4], [6]], [[1], [4]]),
    SentencePredicates("b", [[2, 3]], [[0], [2, 3]]),
]


def expected_scores():
    # Accuracy over the 3 frames with a gold roleset: [1] and [2, 3] are right.
    # Found 4, gold 4; right with their roleset: [1] and [2, 3]. [4] is found but with the
    # wrong roleset: a false positive and a false negative, as [6] (not gold) and [0] (missed).
    return {
        "sense_accuracy": 2 / 3,
        "predicate_sense_precision": 2 / 4,
        "predicate_sense_recall": 2 / 4,
        "predicate_sense_f1": 2 / 4,
    }


def test_hand_counted_scores():
    metric = PredicateSense()
    metric(frames=FRAMES, sentences=SENTENCES)
    assert metric.get_metric() == pytest.approx(expected_scores())
    # Without senses, [4] would count: predicate identification alone is 3 of 4.
    identification = PredicateF1()
    identification([s.predicted for s in SENTENCES], [s.gold for s in SENTENCES])
    assert identification.get_metric()["predicate-f1"] == pytest.approx(3 / 4)


@pytest.mark.parametrize("order", ["frames first", "sentences first", "one by one, mixed"])
def test_a_sentences_halves_may_come_in_any_batches(order):
    metric = PredicateSense()
    if order == "frames first":
        metric(frames=FRAMES)
        metric(sentences=SENTENCES)
    elif order == "sentences first":
        metric(sentences=SENTENCES)
        metric(frames=FRAMES)
    else:
        for item in [SENTENCES[1], FRAMES[0], FRAMES[3], SENTENCES[0], FRAMES[1], FRAMES[2]]:
            if isinstance(item, FrameSense):
                metric(frames=[item])
            else:
                metric(sentences=[item])
    assert metric.get_metric() == pytest.approx(expected_scores())


def test_found_predicate_is_right_only_in_its_own_sentence():
    metric = PredicateSense()
    # Sentence "b" finds [1], which is gold there, but only sentence "a"'s frame at word 1 was
    # given a roleset; "b"'s frame at word 1 was wrong.
    metric(
        frames=[FrameSense("a", [1], "run.01", "run.01"), FrameSense("b", [1], "run.01", "run.02")],
        sentences=[SentencePredicates("b", [[1]], [[1]])],
    )
    scores = metric.get_metric()
    assert scores["predicate_sense_precision"] == 0.0 and scores["sense_accuracy"] == 0.5


def test_reset_forgets_counts_and_waiting_predicates():
    metric = PredicateSense()
    metric(sentences=[SentencePredicates("a", [[1]], [[1]])])  # its frame has not come yet
    assert metric.get_metric(reset=True)["predicate_sense_recall"] == 0.0
    # The frame of the next epoch's sentence "a" must not complete the last epoch's.
    metric(frames=[FrameSense("a", [1], "run.01", "run.01")])
    assert metric.get_metric() == pytest.approx(
        {
            "sense_accuracy": 1.0,
            "predicate_sense_precision": 0.0,
            "predicate_sense_recall": 0.0,
            "predicate_sense_f1": 0.0,
        }
    )


def test_instances_without_a_sentence_id_count_only_as_found_and_gold():
    metric = PredicateSense()
    metric(
        frames=[FrameSense(None, [1], "run.01", "run.01")],
        sentences=[SentencePredicates(None, [[1]], [[1]])],
    )
    scores = metric.get_metric()
    assert scores["sense_accuracy"] == 1.0 and scores["predicate_sense_recall"] == 0.0
