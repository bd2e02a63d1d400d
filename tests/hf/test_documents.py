"""
Documents in (`srl-label --documents`, `SemanticRoleLabeler.label_documents`): EWT dev documents
rebuilt from the CoNLL document ids, every character offset into the document, ids and fields
kept, bad documents answered in place, folders, the CoNLL and HTML forms, `--resume`, and a
document over a megabyte labelled in bounded memory.
"""

import copy
import html.parser
import importlib.util
import json
import os
import random
import re
import subprocess
import sys
import tracemalloc
import unicodedata
from pathlib import Path

import pytest
import torch

from srl_plugin.hf.checkpoints.export import write_export
from srl_plugin.hf.cli.label import main as srl_label_main
from srl_plugin.hf.conll import read_conll2012
from srl_plugin.hf.documents import (
    DocumentEnd,
    DocumentSentences,
    DocumentStart,
    label_document_pieces,
    label_documents,
    parse_document,
)
from srl_plugin.hf.formats import conll_block, document_piece, json_line
from srl_plugin.hf.labeler import SemanticRoleLabeler
from tests.cli import interrupted_srl_label

# One torch thread, as the `srl-label` subprocesses: the same bits in and out of process.
pytestmark = pytest.mark.usefixtures("one_torch_thread")

BIN = Path(sys.executable).parent
# Every tenth EWT dev document (30 of 297): all five genres, a few seconds with the tiny export.
EVERY_NTH_DOCUMENT = 10
# Treebank escapes in EWT's words, and the words written without a space before them.
_ESCAPES = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}"}
_GLUED = {".", ",", "!", "?", ";", ":", "%", "n't", "'s", "'re", "'ve", "'ll", "'d", "'m"}


def _dropped(character: str) -> bool:
    # Characters that words drop (zero-width and control characters), as srl_plugin.hf.words.
    return unicodedata.category(character) in ("Cc", "Cf", "Cs", "Co", "Cn")


def _visible(text: str) -> str:
    return "".join(c for c in text if not c.isspace() and not _dropped(c))


def _detokenized(words):
    """A sentence's words as simple raw text: escapes undone, punctuation and clitics glued."""
    text = ""
    for word in words:
        word = _ESCAPES.get(word, word)
        text += word if not text or word.lower() in _GLUED else " " + word
    return text


@pytest.fixture(scope="module")
def ewt_documents(ewt_conll2012):
    """
    JSON records of EWT dev documents, rebuilt from the CoNLL `#begin document` ids (each
    sentence detokenized simply, the sentences joined with one space), with their gold words.
    """
    grouped = {}
    for sentence in read_conll2012(str(ewt_conll2012 / "dev")):
        grouped.setdefault(sentence.document, []).append(sentence.words)
    records = []
    for name in list(grouped)[::EVERY_NTH_DOCUMENT]:
        document_id = re.match(r"#begin document \((.*)\); part", name).group(1)
        text = " ".join(_detokenized(words) for words in grouped[name])
        gold_words = [word for words in grouped[name] for word in words]
        records.append(
            {
                "id": document_id,
                "text": text,
                "genre": document_id.split("/")[2],
                "gold": gold_words,
            }
        )
    assert len(records) == 30 and len({r["genre"] for r in records}) == 5
    return records


@pytest.fixture(scope="module")
def export_labeler(tiny_export):
    """The tiny export as `srl-label` loads it (batches of 64)."""
    labeler = SemanticRoleLabeler.from_pretrained(tiny_export)
    labeler.model.eval()
    return labeler


def _write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _json_lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _run_script(*args, **kwargs):
    """The installed `srl-label` console script, as a user runs it."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    command = [str(BIN / "srl-label"), *map(str, args)]
    return subprocess.run(command, capture_output=True, env=env, **kwargs)


def _check_document(result, text):
    """Every offset of a document's result is into the document, and its words cover it once."""
    covered = []
    previous_end = 0
    for sentence in result["sentences"]:
        start, end = sentence["start"], sentence["end"]
        assert previous_end <= start < end <= len(text)
        assert text[start:end] == text[start:end].strip() and _visible(text[start:end])
        assert len(sentence["words"]) == len(sentence["word_offsets"]) > 0
        for word, (word_start, word_end) in zip(sentence["words"], sentence["word_offsets"]):
            assert start <= word_start < word_end <= end
            assert "".join(c for c in text[word_start:word_end] if not _dropped(c)) == word
            covered.append((word_start, word_end))
        for verb in sentence["verbs"]:
            indices = verb["predicate_indices"]
            offsets = sentence["word_offsets"]
            assert (verb["char_start"], verb["char_end"]) == (
                offsets[min(indices)][0],
                offsets[max(indices)][1],
            )
            for argument in verb["arguments"]:
                assert argument["text"] == text[argument["char_start"] : argument["char_end"]]
                assert argument["char_start"] == offsets[argument["start"]][0]
                assert argument["char_end"] == offsets[argument["end"]][1]
        previous_end = end
    # Each visible character of the document is in exactly one word, in order.
    assert covered == sorted(covered)
    assert all(a[1] <= b[0] for a, b in zip(covered, covered[1:]))
    inside = "".join(text[s:e] for s, e in covered)
    assert _visible(inside) == _visible(text)


def test_ewt_documents_through_the_console_script_and_the_api(
    ewt_documents, tiny_export, export_labeler, tmp_path
):
    records = [{k: v for k, v in r.items() if k != "gold"} for r in ewt_documents]
    source = _write_jsonl(tmp_path / "documents.jsonl", records)
    run = _run_script(tiny_export, source, "--documents", "-o", tmp_path / "out.jsonl")
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    written = _json_lines(tmp_path / "out.jsonl")
    labelled = list(export_labeler.label_documents(records))
    assert len(written) == len(labelled) == len(records)
    sentences = predicates = 0
    for record, output, result, gold in zip(records, written, labelled, ewt_documents):
        # The id and the other fields kept, the text not repeated; keys in the record's order.
        assert list(output) == ["id", "genre", "sentences"] == list(result)
        assert output["id"] == record["id"] and output["genre"] == record["genre"]
        _check_document(output, record["text"])
        # Every gold word's characters, once, in order: nothing lost or doubled across sentences.
        assert _visible("".join(w for s in output["sentences"] for w in s["words"])) == _visible(
            "".join(_ESCAPES.get(word, word) for word in gold["gold"])
        )
        for mine, api in zip(output["sentences"], result["sentences"]):
            assert {k: mine[k] for k in ("start", "end", "words", "word_offsets")} == {
                k: api[k] for k in ("start", "end", "words", "word_offsets")
            }
            assert [v["tags"] for v in mine["verbs"]] == [v["tags"] for v in api["verbs"]]
        sentences += len(output["sentences"])
        predicates += sum(len(s["verbs"]) for s in output["sentences"])
    # Documents of several sentences, found by the segmenter; the tiny model finds predicates.
    assert sentences > 2 * len(records) and predicates > sentences


def test_text_lines_are_documents_numbered_from_one(tiny_export, export_labeler, tmp_path):
    lines = ["The man left. He was tired!", "", "  \t ", "\u200b", "Mary sold the car."]
    (tmp_path / "input.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert srl_label_main([tiny_export, str(tmp_path / "input.txt"), "--documents",
                           "-o", str(tmp_path / "out.jsonl")]) == 0  # fmt: skip
    written = _json_lines(tmp_path / "out.jsonl")
    assert [r["id"] for r in written] == [1, 2, 3, 4, 5]
    # An empty, a whitespace-only and a zero-width-only document: no sentences, no error.
    assert [len(r["sentences"]) for r in written] == [2, 0, 0, 0, 1]
    assert [s["start"] for s in written[0]["sentences"]] == [0, 14]
    for line, result in zip(lines, written):
        _check_document(result, line)
    # The API gives the same, numbering strings from 1.
    api = list(export_labeler.label_documents(lines))
    assert [r["id"] for r in api] == [1, 2, 3, 4, 5]
    assert [[s["words"] for s in r["sentences"]] for r in api] == [
        [s["words"] for s in r["sentences"]] for r in written
    ]


def test_bad_documents_are_answered_in_place(tiny_export, tmp_path):
    lines = [
        json.dumps({"id": "first", "text": "The man left.", "source": "web", "n": [1, 2]}).encode(),
        json.dumps({"id": "no text", "sentence": "The man left."}).encode(),
        json.dumps({"id": 7, "text": ["a", "list"]}).encode(),
        json.dumps({"id": ["a"], "text": "An id that is a list."}).encode(),
        json.dumps({"id": "taken", "text": "x", "sentences": []}).encode(),
        b"this is not json",
        b"[1, 2]",
        b'{"id": "latin", "text": "caf\xe9"}',
        json.dumps({"text": "   "}).encode(),
        json.dumps({"text": "No id here. Two sentences."}).encode(),
    ]
    source = tmp_path / "mixed.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    output = tmp_path / "out.jsonl"
    assert srl_label_main([tiny_export, str(source), "--documents", "-o", str(output)]) == 0
    written = _json_lines(output)
    assert len(written) == len(lines)
    errors = {i: r["error"] for i, r in enumerate(written) if "error" in r}
    assert sorted(errors) == [1, 2, 3, 4, 5, 6, 7]
    assert "no 'text'" in errors[1] and "'sentence'" in errors[1]
    assert "'text' must be a string, not list" in errors[2]
    assert "'id' must be a string or an integer, not list" in errors[3]
    assert "['sentences']" in errors[4] and "rename" in errors[4]
    assert "not valid JSON" in errors[5] and "must be a JSON object, not list" in errors[6]
    assert "not valid UTF-8 (byte 0xe9" in errors[7]
    # A bad document's id is its own where usable, else its line number; nothing else is kept.
    assert [written[i]["id"] for i in sorted(errors)] == ["no text", 7, 4, "taken", 6, 7, 8]
    assert all(set(written[i]) == {"id", "error"} for i in errors)
    # The documents after them are labelled: fields kept as they are, default ids line numbers.
    assert written[0]["source"] == "web" and written[0]["n"] == [1, 2]
    assert written[8] == {"id": 9, "sentences": []}
    assert written[9]["id"] == 10 and len(written[9]["sentences"]) == 2


def test_segment_window_is_what_a_frame_of_a_found_sentence_reads(tiny_export, tmp_path, capsys):
    from srl_plugin.hf.labeler import DEFAULT_SEGMENT_WINDOW
    from srl_plugin.hf.ray_data import SrlLabeler

    # One sentence of some 70 words (no inner final punctuation: the segmenter keeps it whole).
    text = "The man said that " + "the woman who sold the old car knew that " * 8 + "it rained."
    source = tmp_path / "input.txt"
    source.write_text(text + "\n", encoding="utf-8")

    def verbs(result):
        (sentence,) = result["sentences"]
        return [(v["predicate_indices"], v["tags"], v["score"]) for v in sentence["verbs"]]

    written, expected = {}, {}
    for window, option in ((8, ["--segment-window", "8"]), (None, ["--segment-window", "none"]),
                           (DEFAULT_SEGMENT_WINDOW, [])):  # fmt: skip
        output = tmp_path / f"out{window}.jsonl"
        arguments = [tiny_export, str(source), "--documents", "-o", str(output), *option]
        assert srl_label_main(arguments) == 0
        (written[window],) = _json_lines(output)
        labeler = SemanticRoleLabeler.from_pretrained(tiny_export, segment_window=window)
        labeler.model.eval()
        (expected[window],) = labeler.label_documents([text])
        assert verbs(written[window]) == verbs(expected[window]), window
        # The Ray labeller takes the same setting.
        ray = SrlLabeler(tiny_export, device="cpu", documents=True, segment_window=window or 0)
        (line,) = ray({"text": [text]})["srl"]
        assert verbs(json.loads(line)) == verbs(expected[window]), window
    # The option is not ignored: a window of 8 sub-words leaves the frames other tags and scores.
    assert verbs(written[8]) and verbs(written[8]) != verbs(written[None])
    # A bad window is a usage error naming it.
    capsys.readouterr()
    with pytest.raises(SystemExit, match="2"):
        srl_label_main([tiny_export, str(source), "--documents", "--segment-window", "x"])
    assert "--segment-window: 'x' is not a whole number or none" in capsys.readouterr().err
    assert srl_label_main([tiny_export, str(source), "--documents", "--segment-window", "2"]) == 2
    assert "segment_window must be at least 3 sub-words" in capsys.readouterr().err


def test_parse_document_names_what_is_wrong():
    assert parse_document("Some text.", 3).id == 3
    document = parse_document({"text": "t", "id": "a", "extra": {"k": 1}}, 3)
    assert (document.id, document.text, document.fields) == ("a", "t", {"extra": {"k": 1}})
    for item, message in [
        ({"id": 1}, "no 'text'"),
        ({"text": None}, "'text' must be a string, not NoneType"),
        ({"text": "t", "id": True}, "'id' must be a string or an integer, not bool"),
        ({"text": "t", "error": "x"}, "['error']"),
        (["a", "b"], "not list"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            parse_document(item, 1)


def test_pieces_stream_chunks_across_documents_and_write_one_line_each(export_labeler):
    texts = ["One. Two. Three. Four. Five.", "", "Six. Seven.", "Eight."]
    pieces = list(label_document_pieces(export_labeler, texts, chunk_size=3))
    kinds = [type(p).__name__[len("Document") :] for p in pieces]
    # Chunks of three sentences: the first document's five sentences come in two pieces, a chunk
    # ends inside the third document, the empty document has a start and an end only.
    assert kinds == ["Start", "Sentences", "Sentences", "End", "Start", "End", "Start",
                     "Sentences", "Sentences", "End", "Start", "Sentences", "End"]  # fmt: skip
    sentence_pieces = [p for p in pieces if isinstance(p, DocumentSentences)]
    assert [(p.first, len(p.sentences)) for p in sentence_pieces] == [
        (0, 3), (3, 2), (0, 1), (1, 1), (0, 1)
    ]  # fmt: skip
    assert [p.sentences for p in pieces if isinstance(p, DocumentEnd)] == [5, 0, 2, 1]
    # The JSON pieces of a document are, joined, exactly the JSON line of its whole result.
    whole = list(label_documents(export_labeler, texts, chunk_size=3))
    joined = "".join(document_piece("jsonl", p) for p in pieces)
    assert joined == "".join(json_line(result) for result in whole)
    assert [json.loads(line) for line in joined.splitlines()] == whole
    # Any chunk size gives the same words and sentences.
    assert [[s["words"] for s in r["sentences"]] for r in whole] == [
        [s["words"] for s in r["sentences"]]
        for r in label_documents(export_labeler, texts, chunk_size=1000)
    ]
    with pytest.raises(ValueError, match="chunk_size must be positive"):
        list(label_document_pieces(export_labeler, texts, chunk_size=0))


def test_a_folder_is_one_document_a_file(tiny_export, export_labeler, tmp_path):
    folder = tmp_path / "corpus"
    (folder / "sub").mkdir(parents=True)
    (folder / ".git").mkdir()
    (folder / "b.txt").write_text("The man left. He was tired.\n", encoding="utf-8")
    (folder / "a.txt").write_text("Mary sold the car.\r\n\r\nJohn bought it.", encoding="utf-8")
    (folder / "sub" / "c.md").write_text("", encoding="utf-8")
    (folder / "latin.txt").write_bytes(b"caf\xe9 au lait")
    (folder / ".hidden").write_text("Not a document.", encoding="utf-8")
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main", encoding="utf-8")
    output = tmp_path / "out.jsonl"
    assert srl_label_main([tiny_export, str(folder), "--documents", "-o", str(output)]) == 0
    written = _json_lines(output)
    assert [r["id"] for r in written] == [
        "a.txt",
        "b.txt",
        "latin.txt",
        os.path.join("sub", "c.md"),
    ]
    assert written[2] == {
        "id": "latin.txt",
        "error": "file is not valid UTF-8 (byte 0xe9 at offset 3)",
    }
    assert written[3] == {"id": os.path.join("sub", "c.md"), "sentences": []}
    for result in written[:2]:
        text = (folder / result["id"]).read_bytes().decode("utf-8")
        _check_document(result, text)
        expected = next(export_labeler.label_documents([text]))
        assert [s["words"] for s in result["sentences"]] == [
            s["words"] for s in expected["sentences"]
        ]
    # A paragraph break ends a sentence; "\r\n" stays in the offsets as written.
    assert [s["start"] for s in written[0]["sentences"]] == [0, 22]
    # Without --documents a folder is a usage error.
    assert srl_label_main([tiny_export, str(folder), "-o", str(tmp_path / "x.jsonl")]) == 2


def test_conll_document_blocks_are_todays_blocks_and_score(
    ewt_documents, tiny_export, tmp_path, request
):
    records = [{"id": r["id"].replace("/", " / ", 1), "text": r["text"]} for r in ewt_documents[:8]]
    records.append({"id": "bad", "text": 1})
    records.append({"id": "empty", "text": ""})
    source = _write_jsonl(tmp_path / "documents.jsonl", records)
    conll, jsonl = tmp_path / "out.conll", tmp_path / "out.jsonl"
    # Whole sentences (no segment window), as sentences given one a line are read, below.
    for output, output_format in ((conll, "conll"), (jsonl, "jsonl")):
        assert srl_label_main([tiny_export, str(source), "--documents", "--format", output_format,
                               "--segment-window", "none", "-o", str(output)]) == 0  # fmt: skip
    results = _json_lines(jsonl)
    text = conll.read_text(encoding="utf-8")
    # One block per good document, as CoNLL-2012 files have them (white space in ids is "_");
    # the bad document writes nothing, as a bad sentence does.
    expected = "".join(
        f"#begin document ({'_'.join(str(r['id']).split())}); part 000\n"
        + "".join(conll_block(sentence) for sentence in r["sentences"])
        + "#end document\n"
        for r in results
        if "error" not in r
    )
    assert text == expected
    assert text.count("#begin document") == 9 and text.count("#end document") == 9
    assert re.search(r"^#begin document \(google_/_ewt/\S+\); part 000$", text, re.MULTILINE)
    # Without the document lines, the blocks are exactly those of the same sentences given one
    # a line (same chunks, so the same batches and bits).
    lines = [
        record["text"][s["start"] : s["end"]].replace("\n", " ")
        for record, result in zip(records, results)
        for s in result.get("sentences", [])
    ]
    (tmp_path / "sentences.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    sentence_conll = tmp_path / "sentences.conll"
    assert srl_label_main([tiny_export, str(tmp_path / "sentences.txt"), "--format", "conll",
                           "-o", str(sentence_conll)]) == 0  # fmt: skip
    stripped = "".join(line for line in text.splitlines(True) if not line.startswith("#"))
    assert stripped == sentence_conll.read_text(encoding="utf-8")
    if importlib.util.find_spec("allennlp_models") is None:
        return  # srl-eval.pl ships with allennlp-models: the AllenNLP environment scores below.
    # srl-eval.pl reads the document lines as words (and dies on them): without them it scores
    # the documents' frames, every argument found (the same frames on both sides).
    (tmp_path / "stripped.conll").write_text(stripped, encoding="utf-8")
    script = subprocess.run(
        ["perl", request.getfixturevalue("srl_eval_pl"), str(tmp_path / "stripped.conll"),
         str(sentence_conll)], capture_output=True, text=True, check=True,
    )  # fmt: skip
    overall = re.search(r"^\s*Overall\s+(\d+)\s+(\d+)\s+(\d+)", script.stdout, re.MULTILINE)
    arguments = sum(
        len(v["arguments"]) for r in results for s in r.get("sentences", []) for v in s["verbs"]
    )
    assert overall and [int(overall.group(i)) for i in (1, 2, 3)] == [arguments, 0, 0]
    assert arguments > 50


class _Sections(html.parser.HTMLParser):
    """The nesting of <section> elements: (class, id, number of sentence sections inside)."""

    def __init__(self):
        super().__init__()
        self.stack, self.documents, self.headings = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            if attrs["class"] == "sentence":
                assert self.stack and self.stack[-1][0] == "document"
                self.stack[-1][2] += 1
            self.stack.append([attrs["class"], attrs.get("data-id"), 0])

    def handle_endtag(self, tag):
        if tag == "section":
            kind, document_id, inner = self.stack.pop()
            if kind == "document":
                self.documents.append((document_id, inner))

    def handle_data(self, data):
        if self.lasttag == "h2" and data.strip():
            self.headings.append(data)


def test_html_has_one_section_a_document(tiny_export, tmp_path):
    lines = ["The man left. He was <b>tired</b>.", "", "Mary sold the car."]
    (tmp_path / "input.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    page = tmp_path / "page.html"
    assert srl_label_main([tiny_export, str(tmp_path / "input.txt"), "--documents",
                           "--format", "html", "-o", str(page)]) == 0  # fmt: skip
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert "<b>" not in text and "&lt;" in text  # words are text, not markup
    sections = _Sections()
    sections.feed(text)
    assert sections.stack == []  # every section closed
    assert sections.documents == [("1", 2), ("2", 0), ("3", 1)]
    assert sections.headings == ["1", "2", "3"]


def test_interrupted_document_run_keeps_complete_records_and_resumes(tiny_export, tmp_path):
    # Long documents in chunks of 4 sentences: a document's record is written in many pieces,
    # so the signal lands in the middle of one.
    sentence = "The man said that he wanted to go"
    documents = [". ".join(f"{sentence} {i} {j}" for j in range(16)) + "." for i in range(24)]
    source = tmp_path / "documents.txt"
    source.write_text("\n".join(documents) + "\n", encoding="utf-8")
    args = [tiny_export, source, "--documents", "--chunk-size", "4", "--batch-size", "16"]
    full = tmp_path / "full.jsonl"
    assert srl_label_main(list(map(str, args)) + ["-o", str(full)]) == 0
    first_record = len(full.read_bytes().split(b"\n")[0])
    output = tmp_path / "out.jsonl"
    stderr = interrupted_srl_label(args, output, 1.5 * first_record)
    assert "documents written in this run" in stderr and "--resume" in stderr
    partial = output.read_bytes()
    # Only complete records: a document cut off in the middle was truncated away.
    assert partial.endswith(b"\n")
    done = [json.loads(line) for line in partial.decode().splitlines()]
    assert 0 < len(done) < len(documents)
    assert [d["id"] for d in done] == list(range(1, len(done) + 1))
    # A crash mid-document leaves its start: --resume cuts it off and goes on, ids continuing.
    output.write_bytes(partial + b'{"id": 99, "sentences": [{"start": 0, "end"')
    assert srl_label_main(list(map(str, args)) + ["-o", str(output), "--resume"]) == 0
    # The same records (scores aside: resumed, chunks hold other sentences, so other batches).
    assert _without_scores(_json_lines(output)) == _without_scores(_json_lines(full))


def _without_scores(value):
    if isinstance(value, dict):
        return {k: _without_scores(v) for k, v in value.items() if k != "score"}
    if isinstance(value, list):
        return [_without_scores(v) for v in value]
    return value


def _vocabulary_document(tiny_bert: str, size: int) -> str:
    """Sentences of 20 words of the tiny BERT's whole-word vocabulary, `size` characters."""
    with open(os.path.join(tiny_bert, "vocab.txt"), encoding="utf-8") as vocab:
        words = [w for w in vocab.read().split("\n")[5:305] if w.isalpha() and len(w) > 1]
    rng = random.Random(0)
    sentences, length = [], 0
    while length < size:
        sentence = " ".join(rng.choice(words) for _ in range(20)).capitalize() + "."
        sentences.append(sentence)
        length += len(sentence) + 1
    return " ".join(sentences)


@pytest.fixture(scope="module")
def fast_labeler(labeler, tiny_bert):
    """
    The tiny labeler in batches of 64, its predicate head's bias set to find one predicate in
    about 30 words (the random encoder differs between environments): a megabyte in about 20 s.
    """
    fast = SemanticRoleLabeler(copy.deepcopy(labeler.model), labeler.aligner, batch_size=64)
    sample = [sentence.split() for sentence in _vocabulary_document(tiny_bert, 20_000).split(". ")]
    low, high = -10.0, 10.0
    for _ in range(12):  # the predicate rate grows with the bias of the predicate's tag
        bias = (low + high) / 2
        with torch.no_grad():
            fast.model.predicate_classifier.bias.copy_(torch.tensor([0.0, bias, -5.0]))
        found = sum(len(p) for p in fast.find_predicates(sample))
        low, high = (bias, high) if found * 30 < sum(map(len, sample)) else (low, bias)
    return fast


def test_a_megabyte_document_is_labelled_in_bounded_memory(fast_labeler, tiny_bert):
    document = _vocabulary_document(tiny_bert, 1_100_000)
    list(label_document_pieces(fast_labeler, [document[:5000]], 64))  # imports, caches
    chunk_size = 64
    sentences = predicates = result_bytes = pieces = 0
    tracemalloc.start()
    try:
        for piece in label_document_pieces(fast_labeler, [document], chunk_size):
            if isinstance(piece, DocumentSentences):
                assert 0 < len(piece.sentences) <= chunk_size
                pieces += 1
                sentences += len(piece.sentences)
                predicates += sum(len(s["verbs"]) for s in piece.sentences)
                result_bytes += sum(len(json.dumps(s)) for s in piece.sentences)
            else:
                assert isinstance(piece, (DocumentStart, DocumentEnd))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(document) > 1 << 20 and sentences > 8000 and predicates > 1000
    assert pieces == -(-sentences // chunk_size)
    # Held as Python objects, the document's results (or all its frames at once) take several
    # times their JSON's bytes (about 10 MB); streamed, the peak is one chunk's results and the
    # document's sentence offsets (about 2.6 MB).
    assert peak < result_bytes, (peak, result_bytes)


# Runs a command and prints its exit status and peak RSS (KiB). A child forked from this (large)
# test process would count the pages it shares before its exec in its peak: a small process of
# its own starts it instead.
_MEASURE = (
    "import os, subprocess, sys; process = subprocess.Popen(sys.argv[1:]); "
    "_, status, usage = os.wait4(process.pid, 0); "
    "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)"
)


def _peak_rss_mib(command, log):
    """The peak RSS of a command run to its end (MiB), its stderr into `log`."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    with open(log, "wb") as errors:
        measured = subprocess.run(
            [sys.executable, "-c", _MEASURE, *command],
            env=env,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
    status, peak = measured.stdout.split()[-2:]
    assert int(status) == 0, Path(log).read_text()[-2000:]
    return int(peak) / 1024


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="wait4, ru_maxrss in KiB")
def test_srl_label_peak_rss_does_not_grow_with_the_document(fast_labeler, tiny_bert, tmp_path):
    export = write_export(
        fast_labeler.model, fast_labeler.aligner, str(tmp_path / "export"), "# test export\n"
    )
    peaks = {}
    for megabytes in (1, 4):
        source = tmp_path / f"document-{megabytes}.txt"
        source.write_text(_vocabulary_document(tiny_bert, megabytes << 20) + "\n", encoding="utf-8")
        output = tmp_path / "out.jsonl"
        peaks[megabytes] = _peak_rss_mib(
            [str(BIN / "srl-label"), export, str(source), "--documents", "-o", str(output)],
            tmp_path / "stderr.txt",
        )
        assert len(_json_lines(output)) == 1
    # The 4 MB document's results take hundreds of MiB as Python objects: held, the peak would
    # grow by that; streamed, only by the text and its sentence offsets (a few MiB).
    assert peaks[4] - peaks[1] < 40, peaks
