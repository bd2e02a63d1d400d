"""CoNLL-2012 SRL files read without AllenNLP, for the tests of both environments."""

import glob
import os
import tarfile
from typing import List, Tuple

from tests import PROJECT_ROOT

# (predicate word indices, BIO tags) of one frame.
Frame = Tuple[List[int], List[str]]


def read_conll_sentences(root: str) -> List[Tuple[List[str], List[Frame]]]:
    """The words and gold frames of every sentence of the `*gold_conll` files under `root`."""
    sentences = []
    for path in sorted(glob.glob(os.path.join(root, "**", "*gold_conll"), recursive=True)):
        rows: List[List[str]] = []
        with open(path, encoding="utf-8") as conll:
            for line in list(conll) + [""]:
                if line.startswith("#"):
                    continue
                if line.strip():
                    rows.append(line.split())
                    continue
                if rows:
                    sentences.append(_sentence(rows))
                rows = []
    return sentences


def _sentence(rows: List[List[str]]) -> Tuple[List[str], List[Frame]]:
    words = [row[3] for row in rows]
    frames = []
    for column in range(11, len(rows[0]) - 1):
        tags, open_label = [], None
        for row in rows:
            cell = row[column]
            if cell.startswith("("):
                open_label = cell[1:].split("*")[0]
                tags.append("B-" + open_label)
            else:
                tags.append("I-" + open_label if open_label else "O")
            if cell.endswith(")"):
                open_label = None
        frames.append(([i for i, tag in enumerate(tags) if tag.endswith("-V")], tags))
    return words, frames


def ewt_dev(target: str) -> str:
    """Extracts the shipped EWT data's dev folder under `target`; returns its path."""
    with tarfile.open(PROJECT_ROOT / "data" / "ewt_propbank_srl.tar.gz") as archive:
        members = [m for m in archive.getmembers() if m.name.startswith("conll2012/dev")]
        archive.extractall(target, members=members, filter="data")
    return os.path.join(target, "conll2012", "dev")
