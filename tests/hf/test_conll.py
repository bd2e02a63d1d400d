"""`srl_plugin.hf.conll`: reading, writing back and extracting CoNLL-2012 data (no AllenNLP)."""

import io
import os
import tarfile

import pytest

from srl_plugin.hf.conll import (
    ConllSentence,
    conll_files,
    extract_conll2012,
    read_conll2012,
    write_conll2012,
)
from tests import EWT_SAMPLE


def test_written_sentences_read_back_line_for_line(tmp_path):
    # A subset written back keeps every column, document and sentence boundary of the corpus.
    for path in conll_files(str(EWT_SAMPLE)):
        sentences = list(read_conll2012(path, keep_lines=True))
        copy = str(tmp_path / os.path.basename(path))
        write_conll2012(sentences, copy)
        with open(path, encoding="utf-8") as original, open(copy, encoding="utf-8") as written:
            assert written.read() == original.read()
        assert list(read_conll2012(copy)) == list(read_conll2012(path))


def test_writing_needs_the_lines(tmp_path):
    sentence = next(read_conll2012(str(EWT_SAMPLE)))
    assert sentence.lines is None and sentence.document.startswith("#begin document")
    with pytest.raises(ValueError, match="keep_lines=True"):
        write_conll2012([sentence], str(tmp_path / "out.gold_conll"))


def test_sentences_per_file():
    files = conll_files(str(EWT_SAMPLE))
    first = list(read_conll2012(str(EWT_SAMPLE), sentences_per_file=2))
    assert len(first) == 2 * len(files)
    assert first[:2] == list(read_conll2012(files[0]))[:2]


def test_a_discontinuous_predicate_is_one_frame_and_two_predicates():
    # "picked ... up": one frame whose predicate is both words (as allennlp-models' reader
    # marks it), two spans for predicate identification (what the `predicate-f1` metric counts).
    sentence = ConllSentence(["She", "picked", "it", "up"], [["B-ARG0", "B-V", "B-ARG1", "B-C-V"]])
    assert sentence.frame_predicates == [[1, 3]]
    assert sentence.predicates == [[1], [3]]


def _archive(path: str, members: dict) -> str:
    with tarfile.open(path, "w:gz") as tar:
        for name, text in members.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_extraction_is_reused_until_the_archive_changes(tmp_path):
    sample = conll_files(str(EWT_SAMPLE))[0]
    with open(sample, encoding="utf-8") as conll:
        text = conll.read()
    archive = _archive(str(tmp_path / "corpus.tar.gz"), {"conll2012/dev/a.gold_conll": text})
    cache = str(tmp_path / "cache")
    folder = extract_conll2012(archive, cache)
    assert folder == os.path.join(cache, "corpus", "conll2012")
    assert list(read_conll2012(folder)) == list(read_conll2012(sample))
    marker = os.path.join(folder, "dev", "left-alone")
    open(marker, "w").close()
    assert extract_conll2012(archive, cache) == folder and os.path.exists(marker)
    _archive(archive, {"conll2012/dev/a.gold_conll": text, "conll2012/dev/b.gold_conll": text})
    os.utime(archive, ns=(0, os.stat(archive).st_mtime_ns + 10**9))
    extract_conll2012(archive, cache)
    assert not os.path.exists(marker)
    assert sorted(os.listdir(os.path.join(folder, "dev"))) == ["a.gold_conll", "b.gold_conll"]


def test_an_archive_without_conll2012_writes_nothing(tmp_path):
    archive = _archive(str(tmp_path / "other.tar.gz"), {"data/a.txt": "text"})
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="no conll2012/ folder"):
        extract_conll2012(archive, str(cache))
    assert not (cache / "other").exists()
