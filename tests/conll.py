"""The shipped EWT data for the tests of both environments (no AllenNLP needed)."""

from pathlib import Path
from typing import List, Optional, Tuple

from srl_plugin.hf.conll import extract_conll2012, read_conll2012
from tests import PROJECT_ROOT

# English Web Treebank PropBank in the CoNLL-2012 layout (conll2012/{train,dev,test,sample}/).
SHIPPED_DATA = PROJECT_ROOT / "data" / "ewt_propbank_srl.tar.gz"

# (predicate word indices, BIO tags) of one frame.
Frame = Tuple[List[int], List[str]]


def read_conll_sentences(
    root: str, sentences_per_file: Optional[int] = None
) -> List[Tuple[List[str], List[Frame]]]:
    """
    The words and gold frames of every sentence of the `*gold_conll` files under `root` (with
    `sentences_per_file`, of the first sentences of each file).
    """
    return [
        (sentence.words, list(zip(sentence.frame_predicates, sentence.frames)))
        for sentence in read_conll2012(root, sentences_per_file=sentences_per_file)
    ]


def shipped_conll2012(cache: str) -> Path:
    """The shipped EWT data's `conll2012` folder, extracted under `cache` (once)."""
    return Path(extract_conll2012(str(SHIPPED_DATA), cache))


def ewt_dev(target: str) -> str:
    """The shipped EWT data's dev folder, extracted under `target`."""
    return str(shipped_conll2012(target) / "dev")
