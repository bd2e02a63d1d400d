from typing import Dict, List, Sequence

from allennlp.common.util import is_distributed
from allennlp.training.metrics.metric import Metric

from srl_plugin.hf.predicates import PredicateCounts, predicate_scores
from srl_plugin.metrics.distributed import all_reduce_sum


@Metric.register("predicate_f1")
class PredicateF1(Metric):
    """
    Precision, recall and F1 of predicate identification (`srl_plugin.hf.predicates`): a
    predicted predicate (its list of word indices) is correct when it equals a gold predicate
    exactly. Counts are summed across workers under distributed training.
    """

    supports_distributed = True

    def __init__(self) -> None:
        self._counts = PredicateCounts()

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
            self._counts.add(predicted, gold)

    def get_metric(self, reset: bool = False) -> Dict[str, float]:
        counts: List[int] = list(self._counts.as_tuple())
        if is_distributed():
            counts = all_reduce_sum([counts])[0]
        if reset:
            self.reset()
        return predicate_scores(*counts)

    def reset(self) -> None:
        self._counts = PredicateCounts()
