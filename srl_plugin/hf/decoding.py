"""
BIO-constrained Viterbi decoding, batched on tensors, that returns exactly the tags of
allennlp-models' `SrlBert.make_output_human_readable`.

Upstream decodes each instance with a Python loop (`allennlp.nn.util.viterbi_decode`) over the
softmax *probabilities* (not log-probabilities), with transition potentials of 0 or -inf and a
start sentinel whose observation score is 1e5. In float32 every path score therefore carries
+1e5, so path scores are rounded to multiples of about 0.008 and near-equal paths become exact
ties. Which path wins a tie is decided by `torch.topk(k=1)` on CPU, which keeps the first maximum
when a slice has at least 64 entries and uses `std::nth_element` (a different tie order) below
that. We repeat the same float32 operations in the same order, vectorised over the batch, and
break ties the same way, so the tags match upstream's bit for bit on the same probabilities.
"""

from typing import List, Optional, Sequence, Tuple

import torch

# Upstream's observation score for the start and end sentinels (allennlp.nn.util.viterbi_decode).
_SENTINEL_SCORE = 100000.0
# torch's CPU topk switches from partial_sort (first maximum wins) to nth_element below this.
_PARTIAL_SORT_MIN_SIZE = 64


def bio_transition_constraints(labels: Sequence[str]) -> Tuple[torch.Tensor, torch.Tensor]:
    """
    The BIO constraints of allennlp-models' `SrlBert`: `I-X` may only follow `B-X` or `I-X`, and
    may not start a sequence.

    # Parameters

    labels : `Sequence[str]`
        The tag of each label id, in id order.

    # Returns

    `(transitions, start_transitions)`: float32 tensors of shape `(num_labels, num_labels)` and
    `(num_labels,)` holding 0 for an allowed transition and -inf for a forbidden one.
    """
    num_labels = len(labels)
    transitions = torch.zeros(num_labels, num_labels)
    start_transitions = torch.zeros(num_labels)
    for j, label in enumerate(labels):
        if label[0] != "I":
            continue
        start_transitions[j] = float("-inf")
        for i, previous in enumerate(labels):
            if i != j and previous != "B" + label[1:]:
                transitions[i, j] = float("-inf")
    return transitions, start_transitions


def _with_sentinels(transitions: torch.Tensor, start_transitions: torch.Tensor) -> torch.Tensor:
    # The (num_labels + 2)-square matrix that upstream builds, start and end sentinels last.
    num_labels = transitions.size(0)
    minus_inf = torch.tensor([float("-inf"), float("-inf")], device=transitions.device)
    extended = transitions.new_zeros(num_labels + 2, num_labels + 2)
    extended[:-2, :-2] = transitions
    extended[-2, :] = torch.cat([start_transitions, minus_inf])
    extended[-1, :] = float("-inf")
    extended[:, -1] = torch.cat([transitions.new_zeros(num_labels), minus_inf])
    extended[:, -2] = float("-inf")
    return extended


def viterbi_decode_bio(
    probabilities: torch.Tensor,
    lengths: Sequence[int],
    transitions: torch.Tensor,
    start_transitions: torch.Tensor,
) -> List[List[int]]:
    """
    Decodes a batch of sequences at once, returning what upstream's per-instance
    `viterbi_decode(probabilities[i, :lengths[i]], transitions, allowed_start_transitions=...)`
    returns for each.

    # Parameters

    probabilities : `torch.Tensor`
        Shape `(batch_size, max_length, num_labels)`: softmax outputs over wordpieces (any
        floating dtype; decoding runs in float32 as upstream's does).
    lengths : `Sequence[int]`
        The unpadded length of each sequence (wordpieces, including `[CLS]` and `[SEP]`).
    transitions, start_transitions : `torch.Tensor`
        From `bio_transition_constraints`.

    # Returns

    The best label id sequence of each instance, `lengths[i]` ids long.
    """
    batch_size, max_length, num_labels = probabilities.shape
    if batch_size == 0:
        return []
    num_tags = num_labels + 2
    # Small label sets break ties as torch's CPU topk does, which only CPU tensors reproduce.
    use_topk = num_tags < _PARTIAL_SORT_MIN_SIZE
    device = torch.device("cpu") if use_topk else probabilities.device
    scores = probabilities.detach().to(device=device, dtype=torch.float32)
    extended = _with_sentinels(transitions.to(device).float(), start_transitions.to(device).float())
    length_tensor = torch.as_tensor(list(lengths), device=device)

    def best_previous(path_score: torch.Tensor, transition: torch.Tensor):
        # Shape: (batch_size, num_tags, num_tags): score of reaching tag j from tag i.
        summed = path_score.unsqueeze(2) + transition
        if use_topk:
            values, indices = torch.topk(summed, k=1, dim=1)
            return values.squeeze(1), indices.squeeze(1)
        return torch.max(summed, dim=1)

    # With BIO constraints and first-maximum ties, each step needs one maximum over the batch's
    # scores instead of one per tag (see `_BioSteps`).
    structured = None if use_topk else _BioSteps.of(transitions, start_transitions, device)
    step = structured.best_previous if structured is not None else best_previous

    # Shape: (batch_size, num_tags): the start sentinel's one-hot observation.
    path_score = scores.new_zeros(batch_size, num_tags)
    path_score[:, -2] = _SENTINEL_SCORE
    sentinel_columns = scores.new_full((batch_size, max_length, 2), float("-inf"))
    # Shape: (batch_size, max_length, num_tags)
    observations = torch.cat([scores, sentinel_columns], dim=-1)
    backpointers = []
    for timestep in range(max_length):
        best_score, best_index = step(path_score, extended)
        active = (timestep < length_tensor).unsqueeze(1)
        path_score = torch.where(active, observations[:, timestep] + best_score, path_score)
        backpointers.append(best_index)
    # The end sentinel: every label may end a sequence.
    _, last_tags = best_previous(path_score, extended[:, -1:])
    # Shape: (max_length, batch_size, num_tags)
    pointer_table = torch.stack(backpointers)
    path = torch.zeros(max_length, batch_size, dtype=torch.long, device=device)
    current = last_tags[:, 0]
    for timestep in range(max_length - 1, -1, -1):
        if timestep + 1 < max_length:
            previous = pointer_table[timestep + 1].gather(1, path[timestep + 1].unsqueeze(1))
            current = torch.where(length_tensor > timestep + 1, previous.squeeze(1), current)
        current = torch.where(length_tensor == timestep + 1, last_tags[:, 0], current)
        path[timestep] = current
    path_lists = path.t().tolist()
    return [tags[:length] for tags, length in zip(path_lists, lengths)]


class _BioSteps:
    """
    One Viterbi step of `viterbi_decode_bio` for BIO constraints, in O(num_tags) per sequence
    instead of O(num_tags ** 2), with the same values and the same first-maximum tie breaking.

    Every transition potential is 0 or -inf and adding 0 leaves a float unchanged, so the best
    way into an `O` or `B-X` tag (all labels and the start sentinel allowed) is the maximum of the
    path scores over the labels and the start sentinel, and the best way into `I-X` the larger of
    two scores, those of `B-X` and `I-X`, the lower id winning a tie, as `torch.max` keeps the
    first maximum. The sentinels' own columns get what the full step gives them (their
    observations are -inf, so their path scores stay -inf and no path passes through them).
    """

    def __init__(
        self, num_labels: int, restricted: torch.Tensor, first: torch.Tensor, second: torch.Tensor
    ) -> None:
        self.num_labels = num_labels
        # The `I-X` tags, and the lower and higher id of the two tags that may precede each.
        self.restricted = restricted
        self.first = first
        self.second = second

    @classmethod
    def of(
        cls, transitions: torch.Tensor, start_transitions: torch.Tensor, device: torch.device
    ) -> Optional["_BioSteps"]:
        """The steps for constraints shaped as `bio_transition_constraints` makes them, else None."""
        allowed = transitions == 0
        if not bool((allowed | (transitions == float("-inf"))).all()):
            return None
        restricted, first, second = [], [], []
        for tag in range(transitions.size(0)):
            column = allowed[:, tag]
            if bool(column.all()) and float(start_transitions[tag]) == 0.0:
                continue  # O or B-X: reachable from every label and from the start
            previous = column.nonzero().flatten().tolist()
            if float(start_transitions[tag]) == 0.0 or not 1 <= len(previous) <= 2:
                return None
            restricted.append(tag)
            first.append(previous[0])
            second.append(previous[-1])
        as_tensor = lambda ids: torch.tensor(ids, dtype=torch.long, device=device)  # noqa: E731
        return cls(transitions.size(0), *(as_tensor(ids) for ids in (restricted, first, second)))

    def best_previous(
        self, path_score: torch.Tensor, extended: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        # path_score: (batch_size, num_labels + 2), start and end sentinels last.
        labels = self.num_labels
        batch_size, num_tags = path_score.shape
        # The labels and the start sentinel, the end sentinel's row being all -inf.
        free_score, free_index = torch.max(path_score[:, : labels + 1], dim=1)
        best_score = free_score.unsqueeze(1).repeat(1, num_tags)
        best_index = free_index.unsqueeze(1).repeat(1, num_tags)
        first, second = path_score[:, self.first], path_score[:, self.second]
        take_second = second > first
        best_score[:, self.restricted] = torch.where(take_second, second, first)
        best_index[:, self.restricted] = torch.where(take_second, self.second, self.first)
        # The start sentinel's column is all -inf; the end sentinel's allows every label.
        best_score[:, labels] = float("-inf")
        best_index[:, labels] = 0
        best_score[:, labels + 1], best_index[:, labels + 1] = torch.max(
            path_score[:, :labels], dim=1
        )
        return best_score, best_index


def path_probabilities(
    probabilities: torch.Tensor, paths: Sequence[Sequence[int]]
) -> List[List[float]]:
    """
    The probability of each position's label on its decoded path (the scores of
    `srl_plugin.hf.outputs`), gathered on the probabilities' device.

    # Parameters

    probabilities : `torch.Tensor`
        Shape `(batch_size, max_length, num_labels)`: the softmax that was decoded.
    paths : `Sequence[Sequence[int]]`
        Each sequence's decoded label ids (as `viterbi_decode_bio` returns them).
    """
    path = torch.zeros(probabilities.shape[:2], dtype=torch.long)
    for row, ids in enumerate(paths):
        path[row, : len(ids)] = torch.tensor(list(ids), dtype=torch.long)
    # Shape: (batch_size, max_length, 1)
    chosen = probabilities.gather(-1, path.to(probabilities.device)[..., None])
    rows = chosen.squeeze(-1).cpu().tolist()
    return [row[: len(ids)] for row, ids in zip(rows, paths)]
