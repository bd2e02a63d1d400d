"""
`predicate_sense`: sense accuracy on gold predicates, and predicate identification that counts a
found predicate only with its right roleset.
"""

from typing import Dict, Hashable, NamedTuple, Optional, Sequence, Set, Tuple

from allennlp.common.util import is_distributed
from allennlp.training.metrics.metric import Metric

from srl_plugin.hf import predicates
from srl_plugin.metrics.distributed import all_reduce_sum

# The metric names (`metrics.json`: `best_validation_sense_accuracy`, ...).
SENSE_ACCURACY = "sense_accuracy"
PRECISION, RECALL, F1 = (
    "predicate_sense_precision",
    "predicate_sense_recall",
    "predicate_sense_f1",
)


class FrameSense(NamedTuple):
    """
    The roleset given to one gold predicate (a frame instance): `sentence` names its sentence
    (the reader's `sentence_id`; `None` leaves it out of the predicate+sense scores), `predicate`
    its word indices.
    """

    sentence: Optional[Hashable]
    predicate: Sequence[int]
    predicted: Optional[str]
    gold: Optional[str]


class SentencePredicates(NamedTuple):
    """
    The predicates found in a sentence (or in one window of a long one) and its gold
    predicates there, each a list of word indices.
    """

    sentence: Optional[Hashable]
    predicted: Sequence[Sequence[int]]
    gold: Sequence[Sequence[int]]


@Metric.register("predicate_sense")
class PredicateSense(Metric):
    """
    Predicate senses (PropBank rolesets) as the model gives them:

    - `sense_accuracy`: the share of gold predicates with a gold roleset whose predicted roleset
      is that one (a frame without a gold roleset counts for nothing);
    - `predicate_sense_precision`, `_recall`, `_f1`: predicate identification (as
      `PredicateF1`: a found predicate is right when it equals a gold one) where a found
      predicate counts only with its right roleset. A gold predicate without a gold roleset can
      never be right; it still counts as gold (and its finding as predicted).

    The roleset of a found predicate is the one given to the gold frame of the same predicate
    (same sentence, same first word): for a found predicate that equals a gold one, that is the
    frame the labeler would read. A found predicate that is no gold one is wrong whatever its
    roleset, so it needs none.

    The two halves come from different instances (a sentence's frames and its
    predicate-identification instance), which a data loader may put in different batches: they
    are joined by sentence as they arrive, in counts kept up to date, so `get_metric` is exact
    as soon as both halves of every sentence are in (at the end of an epoch). Each sentence's
    instances are read by one worker (the reader shards sentences), so under distributed
    training every worker joins its own sentences and only the counts are summed.
    """

    supports_distributed = True

    def __init__(self) -> None:
        self.reset()

    def __call__(  # type: ignore[override]
        self,
        frames: Sequence[FrameSense] = (),
        sentences: Sequence[SentencePredicates] = (),
    ) -> None:
        """
        # Parameters

        frames : `Sequence[FrameSense]`
            The rolesets given to gold predicates (frame instances).
        sentences : `Sequence[SentencePredicates]`
            The predicates found in sentences (predicate-identification instances).
        """
        for frame in frames:
            right = frame.gold is not None and frame.predicted == frame.gold
            if frame.gold is not None:
                self._sense_total += 1
                self._sense_correct += right
            if frame.sentence is None or not frame.predicate:
                continue
            key = (frame.sentence, frame.predicate[0])
            if key in self._frames:  # a predicate annotated twice: its first frame counts
                continue
            self._frames[key] = right
            if key in self._waiting:
                self._waiting.remove(key)
                self._correct += right
        for sentence in sentences:
            found = {tuple(p) for p in sentence.predicted}
            gold = {tuple(p) for p in sentence.gold}
            self._predicted += len(found)
            self._gold += len(gold)
            if sentence.sentence is None:
                continue
            for predicate in found & gold:
                key = (sentence.sentence, predicate[0])
                if key in self._frames:
                    self._correct += self._frames[key]
                else:
                    self._waiting.add(key)

    def get_metric(self, reset: bool = False) -> Dict[str, float]:
        counts = [
            self._sense_correct,
            self._sense_total,
            self._correct,
            self._predicted,
            self._gold,
        ]
        if is_distributed():
            counts = all_reduce_sum([counts])[0]
        if reset:
            self.reset()
        sense_correct, sense_total, correct, predicted, gold = counts
        scores = predicates.predicate_scores(correct, predicted, gold)
        return {
            SENSE_ACCURACY: sense_correct / sense_total if sense_total else 0.0,
            PRECISION: scores[predicates.PRECISION],
            RECALL: scores[predicates.RECALL],
            F1: scores[predicates.F1],
        }

    def reset(self) -> None:
        self._sense_correct = self._sense_total = 0
        self._correct = self._predicted = self._gold = 0
        # Whether the roleset of each gold frame seen, by (sentence, first word), was right.
        self._frames: Dict[Tuple[Hashable, int], bool] = {}
        # Found gold predicates whose frame has not been seen yet.
        self._waiting: Set[Tuple[Hashable, int]] = set()
