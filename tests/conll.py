"""The shipped EWT data for the tests of both environments (no AllenNLP needed)."""

import os
from typing import List, Tuple

from benchmarks._common import extract_data, read_conll

# (predicate word indices, BIO tags) of one frame.
Frame = Tuple[List[int], List[str]]


def read_conll_sentences(root: str) -> List[Tuple[List[str], List[Frame]]]:
    """The words and gold frames of every sentence of the `*gold_conll` files under `root`."""
    return [
        (words, [(list(predicate), tags) for predicate, tags in frames])
        for words, frames in read_conll(root)
    ]


def ewt_dev(target: str) -> str:
    """The shipped EWT data's dev folder, extracted under `target`."""
    return os.path.join(extract_data(cache=target), "dev")
