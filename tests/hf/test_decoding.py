import random

import pytest
import torch

from srl_plugin.hf.decoding import bio_transition_constraints, viterbi_decode_bio

allennlp_util = pytest.importorskip("allennlp.nn.util")


def srl_labels(num_roles: int, seed: int):
    roles = [f"ARG{i}" for i in range(num_roles)]
    # An I- tag without its B- tag too (a label seen only inside spans in the training data).
    labels = ["O"] + [f"B-{r}" for r in roles] + [f"I-{r}" for r in roles] + ["I-LONE"]
    random.Random(seed).shuffle(labels)
    return labels


@pytest.mark.parametrize("num_roles", [1, 5, 30, 31, 59])
def test_batched_decoding_equals_allennlp_viterbi_decode(num_roles):
    """
    The same tags as allennlp-models' SrlBert: allennlp's viterbi_decode over softmax
    probabilities, per instance. Covers label sets below and above 64 tags (two tie-breaking
    regimes of torch.topk; above, the O(num_tags) BIO step), rounded logits (exact ties) and
    sharp and flat distributions.
    """
    labels = srl_labels(num_roles, seed=num_roles)
    transitions, start_transitions = bio_transition_constraints(labels)
    generator = torch.Generator().manual_seed(num_roles)
    frames = 0
    for trial in range(60):
        lengths = torch.randint(1, 50, (24,), generator=generator).tolist()
        logits = torch.randn(24, max(lengths), len(labels), generator=generator) * (trial % 5 + 0.3)
        if trial % 3 == 0:
            logits = logits.round()
        probabilities = torch.softmax(logits, dim=-1)
        ours = viterbi_decode_bio(probabilities, lengths, transitions, start_transitions)
        for row, length in enumerate(lengths):
            expected, _ = allennlp_util.viterbi_decode(
                probabilities[row, :length],
                transitions,
                allowed_start_transitions=start_transitions,
            )
            assert ours[row] == expected
            frames += 1
    assert frames == 60 * 24


def test_constraints_match_srl_bert():
    from allennlp.data import Vocabulary
    from allennlp_models.structured_prediction.models.srl_bert import SrlBert

    labels = srl_labels(4, seed=1)
    vocab = Vocabulary(non_padded_namespaces=["labels"])
    vocab.add_tokens_to_namespace(labels, "labels")
    transitions, start_transitions = bio_transition_constraints(labels)
    assert torch.equal(transitions, SrlBert.get_viterbi_pairwise_potentials(_Stub(vocab)))
    assert torch.equal(start_transitions, SrlBert.get_start_transitions(_Stub(vocab)))


class _Stub:
    def __init__(self, vocab):
        self.vocab = vocab


def test_decoded_paths_are_well_formed_bio():
    labels = srl_labels(8, seed=3)
    transitions, start_transitions = bio_transition_constraints(labels)
    probabilities = torch.softmax(torch.randn(50, 30, len(labels)) * 3, -1)
    for path in viterbi_decode_bio(probabilities, [30] * 50, transitions, start_transitions):
        tags = [labels[i] for i in path]
        for previous, tag in zip(["O"] + tags, tags):
            if tag.startswith("I-"):
                assert previous[2:] == tag[2:] and previous[0] in "BI"


def test_empty_batch():
    transitions, start_transitions = bio_transition_constraints(["O", "B-V", "I-V"])
    assert viterbi_decode_bio(torch.zeros(0, 5, 3), [], transitions, start_transitions) == []


def test_constraints_that_are_not_bio_take_the_full_step():
    """Other 0/-inf constraints (here: ARG1 may not follow ARG0) decode as upstream does."""
    labels = srl_labels(40, seed=7)
    transitions, start_transitions = bio_transition_constraints(labels)
    transitions[labels.index("B-ARG0"), labels.index("B-ARG1")] = float("-inf")
    generator = torch.Generator().manual_seed(7)
    logits = torch.randn(16, 40, len(labels), generator=generator).round()
    probabilities = torch.softmax(logits, dim=-1)
    lengths = [40] * 16
    ours = viterbi_decode_bio(probabilities, lengths, transitions, start_transitions)
    for row, path in enumerate(ours):
        expected, _ = allennlp_util.viterbi_decode(
            probabilities[row], transitions, allowed_start_transitions=start_transitions
        )
        assert path == expected
