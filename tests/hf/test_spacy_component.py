"""
The spaCy component `semantic_role_labeler` against the labeler it wraps: the same frames on the
Doc's own words and sentences, batching across Docs, serialization round trips, and displaCy's
span view in a real headless Chromium.
"""

import json
import re
import shutil
from collections import Counter
from typing import Any, Dict, List, Optional

import pytest

from tests.hf.browser import dump_dom
from tests.hf.tiny_export import make_tiny_export

# The component runs on the modern side (spaCy >= 3.7); the AllenNLP environment deselects it.
pytestmark = pytest.mark.modern

TEXT = (
    "The man said it was over because he wanted to go. Mary gave John a book and a pen. "
    "The court ruled that the company owes nothing."
)
TEXTS = [
    "The man said it was over.",
    "Mary gave John a book. He read it twice and gave it back.",
    "They asked whether the house was sold.",
    "A dog barked.",
    "The company said profits rose because sales grew in Europe and Asia.",
    "She wanted to leave. Nobody stopped her.",
]


@pytest.fixture(scope="module")
def nlp(tiny_export, one_torch_thread):
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("semantic_role_labeler", config={"model": tiny_export, "device": "cpu"})
    return nlp


@pytest.fixture(scope="module")
def oracle(tiny_export):
    """The labeler of the same export, as `srl-label` loads it."""
    from srl_plugin.hf.corpus import load_labeler

    return load_labeler(tiny_export, 64, "cpu")


def sentence_words(sentence: Any) -> List[Any]:
    return [token for token in sentence if not token.is_space]


def frames_by_sentence(doc: Any) -> List[List[Dict[str, Any]]]:
    """
    The Doc's frames per sentence, in word indices of the sentence, as the labeler gives them:
    predicate, score, and arguments (the tags' spans other than V, with roles and scores).
    """
    result = []
    for sentence in doc.sents:
        word_of = {token.i: index for index, token in enumerate(sentence_words(sentence))}
        if not word_of:
            continue
        frames = []
        for frame in sentence._.srl_frames:
            predicate = frame["predicate"]
            frames.append(
                {
                    "predicate_indices": [word_of[t.i] for t in predicate if t.i in word_of],
                    "score": frame["score"],
                    "arguments": [
                        (
                            a["role"],
                            word_of[a["span"].start],
                            word_of[a["span"].end - 1],
                            a["score"],
                        )
                        for a in frame["arguments"]
                    ],
                }
            )
        result.append(frames)
    return result


def oracle_frames(
    oracle: Any,
    sentences: List[List[str]],
    predicates: Optional[List[Any]] = None,
    segmented: bool = False,
) -> List[List[Dict[str, Any]]]:
    """
    The labeler's frames of pre-tokenized sentences; `segmented`: as sentences of a Doc longer
    than the labeler's `segment_window` are read (each frame a window around its predicate).
    """
    from srl_plugin.hf.inputs import parse_item

    items = [
        {"tokens": words} if predicates is None else {"tokens": words, "predicates": given}
        for words, given in zip(sentences, predicates or [None] * len(sentences))
    ]
    requests = [parse_item(item) for item in items]
    for request in requests:
        request.segmented = segmented
    return [
        [
            {
                "predicate_indices": verb["predicate_indices"],
                "score": verb["score"],
                "arguments": [
                    (a["role"], a["start"], a["end"], a["score"]) for a in verb["arguments"]
                ],
            }
            for verb in result["verbs"]
        ]
        for result in oracle.label_requests(requests)
    ]


def doc_sentences(doc: Any) -> List[List[str]]:
    return [[t.text for t in sentence_words(s)] for s in doc.sents if sentence_words(s)]


def plain(doc: Any) -> List[Any]:
    """The Doc's frames as plain values (token offsets, roles, scores) for comparisons."""
    return [
        (
            frame["predicate"].start,
            frame["predicate"].end,
            frame["score"],
            [(a["role"], a["span"].start, a["span"].end, a["score"]) for a in frame["arguments"]],
        )
        for frame in doc._.srl_frames
    ]


def test_blank_english_without_sentencizer_equals_the_labeler(nlp, oracle):
    from srl_plugin.hf.words import sentence_spans, word_spans

    assert nlp.pipe_names == ["semantic_role_labeler"]  # no sentencizer, no parser
    doc = nlp(TEXT)
    # Sentences set by the project's segmenter, words the Doc's tokens (the same splitter here).
    assert [s.text for s in doc.sents] == [TEXT[a:b] for a, b in sentence_spans(TEXT)]
    assert len(list(doc.sents)) == 3
    sentences = doc_sentences(doc)
    assert sentences == [[w for w, _, _ in word_spans(TEXT[a:b])] for a, b in sentence_spans(TEXT)]
    expected = oracle_frames(oracle, sentences)
    assert sum(map(len, expected)) >= 4 and any(f["arguments"] for s in expected for f in s)
    assert frames_by_sentence(doc) == expected
    # The span group holds each frame's predicate ("V") and arguments (their roles).
    assert [(s.start, s.end, s.label_) for s in doc.spans["srl"]] == [
        (span.start, span.end, span.label_)
        for frame in doc._.srl_frames
        for span in [frame["predicate"]] + [a["span"] for a in frame["arguments"]]
    ]
    # Character offsets are the Doc's: the labeler's raw-text arguments read the same text.
    first = oracle.predict(TEXT[: sentence_spans(TEXT)[0][1]])
    assert [a["text"] for v in first["verbs"] for a in v["arguments"]] == [
        a["span"].text for f in list(doc.sents)[0]._.srl_frames for a in f["arguments"]
    ]


def test_frames_reachable_from_tokens_and_spans(nlp):
    doc = nlp(TEXT)
    frames = doc._.srl_frames
    for frame in frames:
        predicate = frame["predicate"]
        assert predicate.label_ == "V" and all(
            a["span"].label_ == a["role"] for a in frame["arguments"]
        )
        assert plain_frame(frame) in [plain_frame(f) for f in predicate[0]._.srl_frames]
        assert [plain_frame(f) for f in predicate._.srl_frames] == [plain_frame(frame)]
    per_sentence = [len(s._.srl_frames) for s in doc.sents]
    assert sum(per_sentence) == len(frames) and all(per_sentence)
    not_predicates = {t.i for t in doc} - {t.i for f in frames for t in f["predicate"]}
    assert all(doc[i]._.srl_frames == [] for i in not_predicates)
    assert nlp.make_doc("Unlabelled text.")._.srl_frames == []


def plain_frame(frame: Dict[str, Any]) -> Any:
    return (frame["predicate"].start, frame["score"], len(frame["arguments"]))


def test_custom_tokenization_is_used_as_it_is(nlp, oracle):
    from spacy.tokens import Doc

    words = ["Mary", "gave", "John", "a", "book", "\n", "He", "did", "n't", "read", "it", "."]
    spaces = [True, True, True, True, False, False, True, False, True, True, False, False]
    doc = nlp(Doc(nlp.vocab, words=words, spaces=spaces))
    assert [t.text for t in doc] == words  # not tokenized again
    sentences = doc_sentences(doc)
    assert [w for s in sentences for w in s] == [w for w in words if w != "\n"]
    assert frames_by_sentence(doc) == oracle_frames(oracle, sentences)

    # A custom tokenizer: whitespace only, so "don't" and "gave," stay whole words.
    class WhitespaceTokenizer:
        def __init__(self, vocab: Any) -> None:
            self.vocab = vocab

        def __call__(self, text: str) -> Any:
            words = text.split(" ")
            return Doc(self.vocab, words=words, spaces=[True] * (len(words) - 1) + [False])

    import spacy

    custom = spacy.blank("en")
    custom.tokenizer = WhitespaceTokenizer(custom.vocab)
    custom.add_pipe("semantic_role_labeler", config={"model": nlp.get_pipe_config(
        "semantic_role_labeler")["model"], "device": "cpu"})  # fmt: skip
    text = "I don't think Mary gave, or sold, the house."
    doc = custom(text)
    assert doc_sentences(doc) == [text.split(" ")]
    assert frames_by_sentence(doc) == oracle_frames(oracle, [text.split(" ")])


def test_given_predicates_are_labelled(nlp, oracle):
    doc = nlp.make_doc(TEXT)
    # "said" in the first sentence, "gave" in the second, and "owes nothing" as one predicate.
    said, gave = doc[2:3], doc[13:14]
    owes = [t.i for t in doc if t.text == "owes"][0]
    doc.spans["srl_predicates"] = [said, gave, doc[owes : owes + 2]]
    doc = nlp(doc)
    sentences = doc_sentences(doc)
    starts = [s.start for s in doc.sents]
    expected = oracle_frames(
        oracle,
        sentences,
        [[[2]], [[gave.start - starts[1]]], [[owes - starts[2], owes - starts[2] + 1]]],
    )
    assert frames_by_sentence(doc) == expected
    assert [f["predicate"].text for f in doc._.srl_frames] == ["said", "gave", "owes nothing"]
    # An empty group: the Doc has no predicates, so no frames.
    empty = nlp.make_doc(TEXT)
    empty.spans["srl_predicates"] = []
    assert nlp(empty)._.srl_frames == []


def test_nlp_pipe_batches_across_docs_and_equals_one_by_one(nlp):
    component = nlp.get_pipe("semantic_role_labeler")
    alone_docs = [nlp(text) for text in TEXTS]
    one_by_one = [plain(doc) for doc in alone_docs]
    sentences = [len(list(doc.sents)) for doc in alone_docs]
    calls = []
    label_requests = component.labeler.label_requests

    def counted(requests: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(len(requests))
        return label_requests(requests, *args, **kwargs)

    component.labeler.label_requests = counted
    try:
        docs = list(nlp.pipe(TEXTS, batch_size=4))
    finally:
        del component.labeler.label_requests
    # Two batches of Docs (4 + 2), each one call with all its sentences.
    assert calls == [sum(sentences[:4]), sum(sentences[4:])] and sum(sentences) > len(TEXTS)
    assert [d.text for d in docs] == TEXTS
    batched = [plain(doc) for doc in docs]
    assert sum(map(len, batched)) >= 6
    # Same predicates, arguments and roles; scores equal to float rounding (other batches).
    for alone, together in zip(one_by_one, batched):
        assert [(s, e, [a[:3] for a in args]) for s, e, _, args in together] == [
            (s, e, [a[:3] for a in args]) for s, e, _, args in alone
        ]
        scores = [x for _, _, score, args in together for x in [score] + [a[3] for a in args]]
        expected = [x for _, _, score, args in alone for x in [score] + [a[3] for a in args]]
        # Rounded to 4 digits: one float ulp across a rounding boundary is 1e-4.
        assert scores == pytest.approx(expected, abs=1.5e-4)


def test_sentence_boundaries_of_the_doc_are_kept(nlp, oracle):
    doc = nlp.make_doc(TEXT)
    for token in doc:  # One sentence for the whole text, set by hand.
        token.is_sent_start = token.i == 0
    doc = nlp(doc)
    assert len(list(doc.sents)) == 1
    # A sentence found by hand (or by a parser) is read as a segmenter's: TEXT is longer than
    # the segment window, and each frame reads a window around its predicate.
    assert frames_by_sentence(doc) == oracle_frames(oracle, doc_sentences(doc), segmented=True)
    # Empty and whitespace-only Docs: no sentences with words, no frames.
    assert nlp("")._.srl_frames == [] and nlp("  \n ")._.srl_frames == []
    assert list(nlp("  \n ").spans["srl"]) == []


def test_doc_bytes_and_docbin_keep_the_frames(nlp):
    from spacy.tokens import Doc, DocBin

    doc = nlp(TEXT)
    expected = plain(doc)
    assert expected
    again = Doc(nlp.vocab).from_bytes(doc.to_bytes())
    assert plain(again) == expected
    assert [(s.start, s.end, s.label_) for s in again.spans["srl"]] == [
        (s.start, s.end, s.label_) for s in doc.spans["srl"]
    ]
    predicate = again._.srl_frames[0]["predicate"]
    assert predicate[0]._.srl_frames[0]["predicate"] == predicate
    stored = DocBin(store_user_data=True, docs=[doc]).to_bytes()
    (loaded,) = DocBin().from_bytes(stored).get_docs(nlp.vocab)
    assert plain(loaded) == expected


def test_to_disk_and_spacy_load_carry_the_export(tiny_export, tmp_path, one_torch_thread):
    import spacy

    export = tmp_path / "export"
    shutil.copytree(tiny_export, export)
    nlp = spacy.blank("en")
    nlp.add_pipe("semantic_role_labeler", config={"model": str(export), "device": "cpu"})
    expected = [plain(doc) for doc in nlp.pipe(TEXTS)]
    nlp.to_disk(tmp_path / "pipeline")
    pipeline_bytes = nlp.to_bytes()
    assert (tmp_path / "pipeline" / "semantic_role_labeler" / "model" / "config.json").is_file()
    shutil.rmtree(export)  # The saved pipeline holds its own copy of the export.

    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.pipe_names == ["semantic_role_labeler"]
    assert [plain(doc) for doc in loaded.pipe(TEXTS)] == expected

    from_bytes = spacy.blank("en")
    from_bytes.add_pipe("semantic_role_labeler", config={"model": str(export), "device": "cpu"})
    from_bytes.from_bytes(pipeline_bytes)
    assert [plain(doc) for doc in from_bytes.pipe(TEXTS)] == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipeline"]  # nothing left behind


def test_segment_window_is_a_config_setting(nlp, tiny_export, tmp_path, one_torch_thread):
    import spacy

    from srl_plugin.hf.labeler import DEFAULT_SEGMENT_WINDOW

    # The component's default (written out, not imported) is the labeler's.
    assert nlp.get_pipe("semantic_role_labeler").labeler.segment_window == DEFAULT_SEGMENT_WINDOW
    # One sentence of some 70 words: each frame reads 8 sub-words around its predicate, or all.
    text = "The man said that " + "the woman who sold the old car knew that " * 8 + "it rained."
    frames = {}
    for window in (8, 0):
        windowed = spacy.blank("en")
        windowed.add_pipe(
            "semantic_role_labeler",
            config={"model": tiny_export, "device": "cpu", "segment_window": window},
        )
        assert windowed.get_pipe("semantic_role_labeler").labeler.segment_window == (window or None)
        frames[window] = plain(windowed(text))
        windowed.to_disk(tmp_path / str(window))
        loaded = spacy.load(tmp_path / str(window))
        assert loaded.config["components"]["semantic_role_labeler"]["segment_window"] == window
        assert plain(loaded(text)) == frames[window]
    assert frames[8] and frames[8] != frames[0]


def test_export_without_predicate_head_needs_given_predicates(tiny_bert, tmp_path, oracle):
    import spacy

    export = make_tiny_export(tiny_bert, str(tmp_path / "no_head"), predicate_head=False)
    nlp = spacy.blank("en")
    nlp.add_pipe("semantic_role_labeler", config={"model": export, "device": "cpu"})
    with pytest.raises(ValueError, match="no predicate-identification head") as error:
        nlp("The man said it was over.")
    assert 'doc.spans["srl_predicates"]' in str(error.value)
    assert "srl-fit-predicates" in str(error.value)
    doc = nlp.make_doc("The man said it was over.")
    doc.spans["srl_predicates"] = [doc[2:3]]
    assert [f["predicate"].text for f in nlp(doc)._.srl_frames] == ["said"]


def test_errors_name_what_is_wrong(nlp, tmp_path):
    import spacy

    with pytest.raises(ValueError, match='config=\\{"model"'):
        spacy.blank("en").add_pipe("semantic_role_labeler")
    missing = spacy.blank("en")
    missing.add_pipe("semantic_role_labeler", config={"model": str(tmp_path / "nowhere")})
    with pytest.raises(ValueError, match="cannot load the export .*nowhere"):
        missing("A sentence.")
    doc = nlp.make_doc(TEXT)
    doc.spans["srl_predicates"] = [doc[10:13]]  # "go . Mary"
    with pytest.raises(ValueError, match="crosses the boundary of the sentence"):
        nlp(doc)


# The labels that displaCy draws: each label element's text, with whether the browser laid it
# out visibly (a box of non-zero size, not hidden), written into the page for --dump-dom.
_VISIBILITY_SCRIPT = """
<script>
const labels = [...document.querySelectorAll("div.spans span")]
  .filter(e => e.children.length === 0 && e.textContent.trim())
  .map(e => { const box = e.getBoundingClientRect(), style = getComputedStyle(e);
              return [e.textContent.trim(), box.width > 0 && box.height > 0 &&
                      style.visibility !== "hidden" && style.display !== "none"]; });
const out = document.createElement("pre"); out.id = "labels";
out.textContent = JSON.stringify(labels); document.body.appendChild(out);
</script>
"""


def test_displacy_span_view_in_a_headless_browser(nlp, tmp_path):
    from spacy import displacy

    doc = nlp(TEXT)
    roles = Counter(span.label_ for span in doc.spans["srl"])
    assert roles["V"] >= 3 and len(roles) >= 3
    page = displacy.render(doc, style="span", options={"spans_key": "srl"}, page=True)
    path = tmp_path / "spans.html"
    path.write_text(page.replace("</body>", _VISIBILITY_SCRIPT + "</body>"), encoding="utf-8")
    dom = dump_dom(path)
    found = re.search(r'<pre id="labels">(.*?)</pre>', dom, re.DOTALL)
    assert found, dom[-2000:]
    labels = json.loads(found.group(1).replace("&quot;", '"'))
    # Every span's role is drawn once, at its first token, and laid out visibly.
    assert all(visible for _, visible in labels)
    assert Counter(label for label, _ in labels) == roles
    # The words are all there, in order.
    words = [t.text for t in doc]
    text = re.sub(r"<[^>]+>", " ", dom.split('<pre id="labels">')[0])
    assert [w for w in text.split() if w in words] == words
