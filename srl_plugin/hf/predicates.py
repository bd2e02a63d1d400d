"""
The predicate-identification head's output path, written once: its logits over the sub-words of
a sentence's windows -> a label per word (`PREDICATE_LABELS`: `O`, `B-V`, `I-V`) -> predicates
(lists of word indices); and the predicate precision, recall and F1 that every caller reports
under the same keys (`predicate-precision`, `predicate-recall`, `predicate-f1`).

The labeler, the pipeline and the AllenNLP model read the head through `PredicateLabels`; its
`PredicateF1` metric, the predicate-head fitting and the benchmarks count with `PredicateCounts`.
"""

from typing import Dict, Iterable, List, Sequence, Tuple

import torch

from srl_plugin.hf.frames import WordpieceFrame
from srl_plugin.hf.labels import PREDICATE_LABELS, predicate_spans

# The metric names, as AllenNLP's metrics are named (`metrics.json`: `best_validation_predicate-f1`).
PRECISION, RECALL, F1 = "predicate-precision", "predicate-recall", "predicate-f1"


class PredicateLabels:
    """
    The predicate label of every word of some sentences, filled in window by window from the
    predicate head's logits (a sentence longer than the encoder is read in several windows).

    # Parameters

    num_words : `Sequence[int]`
        The number of words of each sentence.
    """

    def __init__(self, num_words: Sequence[int]) -> None:
        self.labels: List[List[int]] = [[0] * count for count in num_words]

    def add(
        self,
        predicate_logits: torch.Tensor,
        frames: Sequence[WordpieceFrame],
        sentences: Iterable[int],
    ) -> None:
        """
        Reads the head's logits of a batch of windows.

        # Parameters

        predicate_logits : `torch.Tensor`
            Shape `(batch_size, num_wordpieces, 3)`: row `i` is the window `frames[i]`.
        frames : `Sequence[WordpieceFrame]`
            The windows.
        sentences : `Iterable[int]`
            The index of each window's sentence.
        """
        # Shape: (batch_size, num_wordpieces)
        rows = predicate_logits.argmax(-1).tolist()
        for frame, sentence, row in zip(frames, sentences, rows):
            for word, offset in frame.word_offsets():
                self.labels[sentence][word] = row[offset]

    def tags(self) -> List[List[str]]:
        """Each sentence's label names per word (`O`, `B-V`, `I-V`)."""
        return [[PREDICATE_LABELS[label] for label in labels] for labels in self.labels]

    def predicates(self) -> List[List[List[int]]]:
        """Each sentence's predicates, each a list of word indices."""
        return [predicate_spans(labels) for labels in self.labels]


class PredicateCounts:
    """
    Exact-match counts of predicate identification: a predicted predicate (its word indices) is
    right when it equals a gold one.
    """

    def __init__(self) -> None:
        self.correct = self.predicted = self.gold = 0

    def add(
        self, predicted: Iterable[Sequence[int]], gold: Iterable[Sequence[int]]
    ) -> "PredicateCounts":
        """Counts one sentence's predicted and gold predicates; returns `self`."""
        guesses = {tuple(p) for p in predicted}
        expected = {tuple(g) for g in gold}
        self.correct += len(guesses & expected)
        self.predicted += len(guesses)
        self.gold += len(expected)
        return self

    def as_tuple(self) -> Tuple[int, int, int]:
        return self.correct, self.predicted, self.gold

    def scores(self) -> Dict[str, float]:
        """`predicate-precision`, `predicate-recall` and `predicate-f1`."""
        return predicate_scores(*self.as_tuple())


def predicate_scores(correct: int, predicted: int, gold: int) -> Dict[str, float]:
    """Precision, recall and F1 of counts (0.0 where undefined)."""
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {PRECISION: precision, RECALL: recall, F1: f1}


def count_predicates(
    predicted: Iterable[Sequence[Sequence[int]]], gold: Iterable[Sequence[Sequence[int]]]
) -> PredicateCounts:
    """The counts of many sentences: their predicted and gold predicates, in the same order."""
    counts = PredicateCounts()
    for sentence_predicted, sentence_gold in zip(predicted, gold):
        counts.add(sentence_predicted, sentence_gold)
    return counts
