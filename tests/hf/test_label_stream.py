"""
`SemanticRoleLabeler.label_stream`, character offsets and scores: the outputs people use.
"""

import copy
import itertools
import unicodedata

import pytest
import torch

from srl_plugin.hf.frames import wordpiece_frame
from srl_plugin.hf.labeler import NO_PREDICATE_HEAD
from srl_plugin.hf.words import split_words, word_spans
from tests import EWT_SAMPLE
from tests.conll import read_conll_sentences

ODD_SENTENCES = [
    "Café déjà vu: naïve façade, jalapeño piñata.",
    "Cafe\u0301 with a combining accent, and Å/Å (NFC vs NFD).",
    "我们今天去北京。Привет мир, 東京へ行きます",
    "Emoji 🙂👍🏽 and 👨\u200d👩\u200d👧 families, flags 🇫🇷!",
    "tabs\tand\nnewlines\r\nand   many    spaces",
    "bad\x00con\x07trol\u200bchars and soft\u00adhyphen",
    "  leading and trailing  ",
    "I don't think it's 3.5 km; they'll say \"no\" (won't they?)",
    "\U0001d400 math bold, \u0627\u0644\u0639\u0631\u0628\u064a\u0629 RTL, e-mail a.b@c.d",
]


def _dropped(character: str) -> bool:
    return unicodedata.category(character) in ("Cc", "Cf", "Cs", "Co", "Cn") and not (
        character.isspace()
    )


def _as_written(sentence: str, start: int, end: int) -> str:
    """The text between two offsets without the characters split_words drops."""
    return "".join(c for c in sentence[start:end] if not _dropped(c))


def _ewt_sentences():
    # Raw text as people write it: the sample's words joined with single spaces.
    return [" ".join(words) for words, _ in read_conll_sentences(str(EWT_SAMPLE))]


@pytest.mark.parametrize("source", ["ewt", "odd"])
def test_word_offsets_round_trip(source):
    sentences = _ewt_sentences() if source == "ewt" else ODD_SENTENCES
    for sentence in sentences:
        spans = word_spans(sentence)
        assert [word for word, _, _ in spans] == split_words(sentence)
        previous_end = 0
        for word, start, end in spans:
            assert previous_end <= start < end <= len(sentence)
            assert _as_written(sentence, start, end) == word, (sentence, word, start, end)
            if not any(_dropped(c) for c in sentence[start:end]):
                assert sentence[start:end] == word
            previous_end = end


def test_odd_strings_split_as_before():
    assert split_words("我们去北京") == ["我", "们", "去", "北", "京"]
    assert word_spans("我们 去") == [("我", 0, 1), ("们", 1, 2), ("去", 3, 4)]
    assert word_spans("bad\x00con\x07trol x") == [("badcontrol", 0, 12), ("x", 13, 14)]
    assert word_spans("a\tb") == [("a", 0, 1), ("b", 2, 3)]


def test_every_word_and_span_carries_its_characters(labeler):
    sentences = _ewt_sentences()[:40] + ODD_SENTENCES
    results = labeler.predict_batch(sentences)
    spans = 0
    for sentence, result in zip(sentences, results):
        assert len(result["word_offsets"]) == len(result["words"])
        for word, (start, end) in zip(result["words"], result["word_offsets"]):
            assert _as_written(sentence, start, end) == word
        for verb in result["verbs"]:
            predicate = [result["words"][i] for i in verb["predicate_indices"]]
            written = _as_written(sentence, verb["char_start"], verb["char_end"])
            assert "".join(written.split()) == "".join(predicate)
            for argument in verb["arguments"]:
                written = _as_written(sentence, argument["char_start"], argument["char_end"])
                # The span's words, with the original spacing between them.
                assert "".join(written.split()) == "".join(
                    result["words"][argument["start"] : argument["end"] + 1]
                )
                # Its text is the sentence's own characters, as written.
                assert argument["text"] == sentence[argument["char_start"] : argument["char_end"]]
                words = result["word_offsets"][argument["start"] : argument["end"] + 1]
                assert argument["char_start"] == words[0][0]
                assert argument["char_end"] == words[-1][1]
                spans += 1
    assert spans > 50
    # Word lists carry no offsets: there is no original string.
    assert "word_offsets" not in labeler.predict(["a", "b"])


def test_scores_are_the_decoded_tags_probabilities(labeler):
    words = "the man said it was over because he wanted to go".split()
    result = labeler.predict({"tokens": words, "predicates": [2]})
    verb = result["verbs"][0]
    # Recompute the path and its probabilities from the model directly.
    frame = wordpiece_frame(labeler.aligner, words, [2], labeler.max_wordpieces)
    with torch.no_grad():
        logits = labeler.model(
            input_ids=torch.tensor([frame.input_ids]),
            token_type_ids=torch.tensor([frame.token_type_ids]),
        ).logits
    path = labeler.model.decode(logits, [len(frame.input_ids)])[0]
    probabilities = logits.softmax(-1)[0]
    per_word = [probabilities[offset, path[offset]].item() for offset in frame.start_offsets]
    assert verb["tags"] == [labeler.model.labels[path[offset]] for offset in frame.start_offsets]
    assert verb["score"] == pytest.approx(sum(per_word) / len(per_word), abs=1e-4)
    assert verb["arguments"], "the tiny model should tag some argument"
    for argument in verb["arguments"]:
        expected = per_word[argument["start"] : argument["end"] + 1]
        assert argument["score"] == pytest.approx(sum(expected) / len(expected), abs=1e-4)
        assert 0.0 <= argument["score"] <= 1.0


@pytest.mark.parametrize("chunk_size", [1, 3, 1000])
def test_stream_gives_what_predict_batch_gives(labeler, chunk_size):
    items = _ewt_sentences()[:30] + ["", {"tokens": ["a"], "predicates": [3]}] + ODD_SENTENCES
    expected = labeler.predict_batch(items, raise_errors=False)
    consumed = []

    def source():
        for item in items:
            consumed.append(item)
            yield item

    stream = labeler.label_stream(source(), chunk_size=chunk_size)
    first = next(stream)
    # Lazy: only the first chunk has been read when the first result comes out.
    assert len(consumed) == min(chunk_size, len(items))
    streamed = [first, *stream]
    assert len(streamed) == len(items)
    for mine, theirs in zip(streamed, expected):
        assert _without_scores(mine) == _without_scores(theirs)
    assert "empty" in streamed[30]["error"] and "outside" in streamed[31]["error"]


def _without_scores(result):
    # Batching changes padding, which moves float32 logits in the last bits: scores may differ
    # in the 4th decimal, tags may not.
    result = copy.deepcopy(result)
    for verb in result.get("verbs", []):
        verb.pop("score", None)
        for argument in verb["arguments"]:
            argument.pop("score", None)
    return result


def test_model_without_predicate_head_answers_each_item(labeler):
    headless = copy.copy(labeler)
    headless.model = copy.deepcopy(labeler.model)
    headless.model.predicate_classifier = None
    items = [
        "The man said it .",
        {"sentence": "The man said it .", "predicates": [2]},
        {"tokens": ["the", "man", "said"]},
        ["the", "man", "said"],
        {"tokens": ["the", "man", "said"], "predicates": [[2]]},
    ]
    results = headless.predict_batch(items, raise_errors=False)
    for index in (0, 2, 3):
        assert results[index] == {"error": NO_PREDICATE_HEAD}
        assert '"predicates": [2]' in results[index]["error"]
    assert results[1]["verbs"][0]["verb"] == "said"
    assert results[4]["verbs"][0]["predicate_indices"] == [2]
    streamed = list(headless.label_stream(itertools.chain(items, items), chunk_size=2))
    assert streamed == results + results
    with pytest.raises(ValueError, match="item 0: this model has no predicate-identification"):
        headless.predict_batch(items)
