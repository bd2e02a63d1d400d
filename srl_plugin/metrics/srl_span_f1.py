from typing import Dict, Iterable, List, Optional, Sequence

import torch.distributed as dist
from allennlp.common.util import is_distributed
from allennlp.training.metrics.metric import Metric

from srl_plugin.hf.srl_eval import SpanCounts, count_bio_batch, precision_recall_f1
from srl_plugin.metrics.distributed import all_reduce_sum


@Metric.register("srl_span_f1")
class SrlSpanF1(Metric):
    """
    Span precision, recall and F1 for semantic role labelling, with exactly the counts and
    metrics of allennlp-models' `SrlEvalScorer(ignore_classes=["V"])` (the CoNLL-2005
    `srl-eval.pl` script), computed in pure Python (no perl, no temporary files) by
    `srl_plugin.hf.srl_eval`, and aggregated across workers under distributed training (where
    `SrlEvalScorer.get_metric` raises).

    Unlike `SrlEvalScorer`, it takes BIO tags, and converts them with
    `convert_bio_tags_to_conll_format` itself, as `SrlBert` does before calling `SrlEvalScorer`.

    # Parameters

    ignore_classes : `List[str]`, optional (default = `None`)
        Labels to leave out of the metrics, besides `V`, which `srl-eval.pl` always leaves out.
    """

    supports_distributed = True

    def __init__(self, ignore_classes: Optional[List[str]] = None) -> None:
        self._ignore_classes = set(ignore_classes or ())
        self._counts = SpanCounts()

    def __call__(  # type: ignore[override]
        self,
        batch_verb_indices: Sequence[Optional[int]],
        batch_sentences: Sequence[Sequence[str]],
        batch_predicted_bio_tags: Sequence[Sequence[str]],
        batch_gold_bio_tags: Sequence[Sequence[str]],
    ) -> None:
        """
        # Parameters

        batch_verb_indices : `Sequence[Optional[int]]`, required.
            The index of the verbal predicate in each sentence, or `None` if the sentence
            contains no verbal predicate (such a frame counts for nothing, as in `srl-eval.pl`).
        batch_sentences : `Sequence[Sequence[str]]`, required.
            The word tokens of each instance.
        batch_predicted_bio_tags : `Sequence[Sequence[str]]`, required.
            The predicted BIO tags of each instance, one per word.
        batch_gold_bio_tags : `Sequence[Sequence[str]]`, required.
            The gold BIO tags of each instance, one per word.
        """
        batch_counts = count_bio_batch(
            batch_verb_indices, batch_sentences, batch_predicted_bio_tags, batch_gold_bio_tags
        )
        self._counts.update(batch_counts, ignore_classes=self._ignore_classes)

    def get_metric(self, reset: bool = False) -> Dict[str, float]:
        """
        # Returns

        `Dict[str, float]`
            As `SrlEvalScorer.get_metric`: `precision-X`, `recall-X` and `f1-measure-X` for each
            label `X`, and `precision-overall`, `recall-overall` and `f1-measure-overall` over
            all spans. Under distributed training, computed from the counts of all workers.
        """
        counts = self._counts
        if is_distributed():
            counts = _all_reduce_counts(counts)
        metrics = precision_recall_f1(counts)
        if reset:
            self.reset()
        return metrics

    def reset(self) -> None:
        self._counts = SpanCounts()


def _all_reduce_counts(counts: SpanCounts) -> SpanCounts:
    """
    Sums the counts of all workers. The workers may have seen different labels, so they first
    agree on the sorted union of their labels and then all-reduce one row of counts per label.

    # Parameters

    counts : `SpanCounts`
        This worker's counts.

    # Returns

    `SpanCounts`
        The counts summed over all workers (the same on every worker).
    """
    gathered: List[Optional[List[str]]] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, counts.labels())
    worker_labels: Iterable[str] = (label for labels in gathered for label in labels or ())
    labels = sorted(set(worker_labels))
    reduced = SpanCounts()
    if not labels:
        return reduced
    per_label = counts.per_label()
    rows = [per_label.get(label, (0, 0, 0)) for label in labels]
    for label, (tp, fp, fn) in zip(labels, all_reduce_sum(rows)):
        reduced.add(label, tp, fp, fn)
    return reduced
