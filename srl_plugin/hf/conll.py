"""
Reading CoNLL-2012 SRL files (`*gold_conll`) without AllenNLP: the words of each sentence and the
BIO tags of each of its frames, as allennlp-models' `Ontonotes` reader gives them; writing
sentences read with their lines back (`write_conll2012`, e.g. a subset of a corpus); and the
`conll2012` folder of a data archive in that layout (`extract_conll2012`), such as the English Web
Treebank PropBank shipped in the repository's `data/`, which the benchmarks, the demo and the
tests all read.
"""

import os
from dataclasses import dataclass
from typing import Iterable, Iterator, List, Optional, Tuple

from srl_plugin.hf.labels import predicate_bio_labels, predicate_indices, predicate_spans

# Where `extract_conll2012` notes which archive a folder was extracted from.
_STAMP = ".archive-stamp"


@dataclass
class ConllSentence:
    """
    One sentence: its words and, per predicate, BIO tags (`B-ARG0`, `I-ARG0`, `B-V`, `O`...);
    the `#begin document` line of its document (`None` in a file without one) and, when read with
    `keep_lines`, its lines with surrounding white space stripped (columns as in the file).
    """

    words: List[str]
    frames: List[List[str]]
    document: Optional[str] = None
    lines: Optional[List[str]] = None

    @property
    def frame_predicates(self) -> List[List[int]]:
        """
        The predicate of each frame: the words tagged `*-V` (`C-V` included, so a discontinuous
        predicate is one), as allennlp-models' `SrlReader` marks it.
        """
        return [predicate_indices(tags) for tags in self.frames]

    @property
    def predicates(self) -> List[List[int]]:
        """
        The predicates that predicate identification should find (what the `predicate-f1`
        metric counts as gold): the contiguous `V` spans of all frames, so the two parts of a
        discontinuous predicate are two predicates.
        """
        return predicate_spans(predicate_bio_labels(len(self.words), self.frames))

    @property
    def frame_rolesets(self) -> List[Optional[str]]:
        """
        The roleset of each frame's predicate (`have.03`, the frameset column 8): that of its
        first `V` word that has one; `None` where none has. Needs the lines (`keep_lines`).
        """
        return [roleset for _, roleset in self._frame_senses()]

    @property
    def frame_lemmas(self) -> List[Optional[str]]:
        """The lemma column (7) of each frame's roleset word (`None` where it has no roleset)."""
        return [lemma for lemma, _ in self._frame_senses()]

    def _frame_senses(self) -> List[Tuple[Optional[str], Optional[str]]]:
        if self.lines is None:
            raise ValueError(
                f"sentence {' '.join(self.words[:8])}...: no lines to read rolesets from (read "
                "it with read_conll2012(..., keep_lines=True))"
            )
        columns = [line.split() for line in self.lines]
        senses: List[Tuple[Optional[str], Optional[str]]] = []
        for predicate in self.frame_predicates:
            found = [i for i in predicate if columns[i][7] != "-"]
            senses.append((columns[found[0]][6], columns[found[0]][7]) if found else (None, None))
        return senses


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


def read_conll2012(
    path: str,
    domain: Optional[str] = None,
    sentences_per_file: Optional[int] = None,
    keep_lines: bool = False,
) -> Iterator[ConllSentence]:
    """
    The sentences of a CoNLL-2012 file or folder (see `conll_files`); with `sentences_per_file`,
    only the first that many of each file; with `keep_lines`, each with its lines (all columns,
    for `write_conll2012`).
    """
    for conll_file in conll_files(path, domain):
        for number, sentence in enumerate(_file_sentences(conll_file, keep_lines)):
            if number == sentences_per_file:
                break
            yield sentence


def write_conll2012(sentences: Iterable[ConllSentence], path: str) -> None:
    """
    Writes sentences read with `keep_lines` as a CoNLL-2012 file: each run of sentences of one
    document between its `#begin document` line and `#end document`, a blank line after each
    sentence, as the corpus files are laid out.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as conll:
        document: Optional[str] = None
        for sentence in sentences:
            if sentence.lines is None:
                raise ValueError(
                    f"sentence {' '.join(sentence.words[:8])}...: no lines to write (read it "
                    "with read_conll2012(..., keep_lines=True))"
                )
            if sentence.document != document:
                if document is not None:
                    conll.write("#end document\n")
                if sentence.document is not None:
                    conll.write(sentence.document + "\n")
                document = sentence.document
            conll.write("\n".join(sentence.lines) + "\n\n")
        if document is not None:
            conll.write("#end document\n")


def extract_conll2012(archive: str, cache: str) -> str:
    """
    The `conll2012` folder (`train/`, `dev/`, ...) of a data archive in the CoNLL-2012 layout,
    extracted into `cache/<archive name>/` the first time and reused while the archive is
    unchanged (same size and modification time). The project's safe tar reader
    (`srl_plugin.archives.safe_tar`) checks every member before anything is written, and the
    folder is renamed into place, so an interrupted run leaves no half-written folder.

    # Raises

    `ValueError` when the archive holds no `conll2012/` folder; `CheckpointError` when the safe
    tar reader refuses it.
    """
    # Imported here: only extraction needs the tar reader and the atomic folder.
    from srl_plugin.archives.safe_tar import safe_extract
    from srl_plugin.hf.checkpoints.export import atomic_directory

    name = os.path.basename(archive)
    for suffix in (".tar.gz", ".tgz", ".tar"):
        name = name[: -len(suffix)] if name.endswith(suffix) else name
    target = os.path.join(cache, name)
    status = os.stat(archive)
    stamp = f"{os.path.abspath(archive)} {status.st_size} {status.st_mtime_ns}\n"
    stamp_file = os.path.join(target, _STAMP)
    if not (os.path.isfile(stamp_file) and _read(stamp_file) == stamp):
        with atomic_directory(target) as staging:
            safe_extract(archive, staging)
            if not os.path.isdir(os.path.join(staging, "conll2012")):
                raise ValueError(f"{archive} holds no conll2012/ folder")
            with open(os.path.join(staging, _STAMP), "w", encoding="utf-8") as stamp_out:
                stamp_out.write(stamp)
    return os.path.join(target, "conll2012")


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as text:
        return text.read()


def _file_sentences(path: str, keep_lines: bool = False) -> Iterator[ConllSentence]:
    rows: List[List[str]] = []
    lines: List[str] = []
    document: Optional[str] = None
    with open(path, encoding="utf-8") as conll:
        for number, line in enumerate(conll, 1):
            line = line.strip()
            # A blank line ends a sentence, and so does a `#begin/end document` line.
            if line.startswith("#") or not line:
                if rows:
                    yield _sentence(rows, path, document, lines if keep_lines else None)
                rows, lines = [], []
                if line.startswith("#begin document"):
                    document = line
                continue
            columns = line.split()
            if len(columns) < 12:
                raise ValueError(
                    f"{path}:{number}: {len(columns)} columns, a CoNLL-2012 line has at least 12"
                )
            rows.append(columns)
            lines.append(line)
    if rows:
        yield _sentence(rows, path, document, lines if keep_lines else None)


def _sentence(
    rows: List[List[str]], path: str, document: Optional[str], lines: Optional[List[str]]
) -> ConllSentence:
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
    return ConllSentence(words, frames, document, lines)
