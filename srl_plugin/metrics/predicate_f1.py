from typing import Dict, List, Sequence

from allennlp.common.util import is_distributed
from allennlp.training.metrics.metric import Metric

from srl_plugin.metrics.distributed import all_reduce_sum


@Metric.register("predicate_f1")
class PredicateF1(Metric):
    """
    Precision, recall and F1 of predicate identification: a predicted predicate (its list of
    word indices) is correct when it equals a gold predicate exactly. Counts are summed across
    workers under distributed training.
    """

    supports_distributed = True

    def __init__(self) -> None:
        self._counts = [0, 0, 0]  # true positives, predicted, gold

    def __call__(  # type: ignore
        self,
        batch_predicted: Sequence[Sequence[Sequence[int]]],
        batch_gold: Sequence[Sequence[Sequence[int]]],
    ) -> None:
        """
        # Parameters

        batch_predicted, batch_gold : `Sequence[Sequence[Sequence[int]]]`
            For each sentence, its predicates, each a list of word indices.
        """
        for predicted, gold in zip(batch_predicted, batch_gold):
            predicted_set = {tuple(p) for p in predicted}
            gold_set = {tuple(g) for g in gold}
            self._counts[0] += len(predicted_set & gold_set)
            self._counts[1] += len(predicted_set)
            self._counts[2] += len(gold_set)

    def get_metric(self, reset: bool = False) -> Dict[str, float]:
        counts: List[int] = list(self._counts)
        if is_distributed():
            counts = all_reduce_sum([counts])[0]
        true_positives, predicted, gold = counts
        precision = true_positives / predicted if predicted else 0.0
        recall = true_positives / gold if gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if reset:
            self.reset()
        return {"predicate-precision": precision, "predicate-recall": recall, "predicate-f1": f1}

    def reset(self) -> None:
        self._counts = [0, 0, 0]
