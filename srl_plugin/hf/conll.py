"""
Reading CoNLL-2012 SRL files (`*gold_conll`) without AllenNLP: the words of each sentence and the
BIO tags of each of its frames, as allennlp-models' `Ontonotes` reader gives them.
"""

import os
from dataclasses import dataclass
from typing import Iterator, List, Optional


@dataclass
class ConllSentence:
    """One sentence: its words and, per predicate, BIO tags (`B-ARG0`, `I-ARG0`, `B-V`, `O`...)."""

    words: List[str]
    frames: List[List[str]]


def conll_files(path: str, domain: Optional[str] = None) -> List[str]:
    """
    The `*gold_conll` files of a folder (recursively, sorted), or the file itself; with `domain`,
    only those under a `/<domain>/` folder (as allennlp-models' `domain_identifier`).
    """
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise FileNotFoundError(f"{path}: no CoNLL-2012 file or folder")
    files = sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(path)
        for name in names
        if name.endswith("gold_conll")
    )
    if domain:
        files = [f for f in files if f"/{domain}/" in f.replace(os.sep, "/")]
    if not files:
        raise FileNotFoundError(f"{path}: no *gold_conll files")
    return files


def read_conll2012(path: str, domain: Optional[str] = None) -> Iterator[ConllSentence]:
    """The sentences of a CoNLL-2012 file or folder (see `conll_files`)."""
    for conll_file in conll_files(path, domain):
        yield from _file_sentences(conll_file)


def _file_sentences(path: str) -> Iterator[ConllSentence]:
    rows: List[List[str]] = []
    with open(path, encoding="utf-8") as conll:
        for number, line in enumerate(conll, 1):
            line = line.strip()
            if line.startswith("#"):
                continue
            if not line:
                if rows:
                    yield _sentence(rows, path)
                rows = []
                continue
            columns = line.split()
            if len(columns) < 12:
                raise ValueError(
                    f"{path}:{number}: {len(columns)} columns, a CoNLL-2012 line has at least 12"
                )
            rows.append(columns)
    if rows:
        yield _sentence(rows, path)


def _sentence(rows: List[List[str]], path: str) -> ConllSentence:
    # Columns: document, part, index, word, POS, parse, lemma, frameset, sense, speaker, entity,
    # one SRL column per predicate, coreference.
    words = [row[3] for row in rows]
    num_frames = len(rows[0]) - 12
    frames: List[List[str]] = [[] for _ in range(num_frames)]
    open_labels: List[Optional[str]] = [None] * num_frames
    for row in rows:
        annotations = row[11:-1]
        if len(annotations) != num_frames:
            raise ValueError(f"{path}: sentence {' '.join(words[:8])}...: uneven SRL columns")
        for index, annotation in enumerate(annotations):
            label = annotation.strip("()*")
            if "(" in annotation:
                frames[index].append("B-" + label)
                open_labels[index] = label
            elif open_labels[index] is not None:
                frames[index].append("I-" + str(open_labels[index]))
            else:
                frames[index].append("O")
            if ")" in annotation:
                open_labels[index] = None
    return ConllSentence(words, frames)
