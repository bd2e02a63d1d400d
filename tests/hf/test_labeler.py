import pytest

from srl_plugin.hf.inputs import parse_item
from srl_plugin.hf.outputs import frame_result
from srl_plugin.hf.words import sentence_spans, split_words, word_spans


def test_split_words_keeps_what_ewt_keeps_whole():
    assert split_words("I don't think it's 3.5 km.") == [
        "I",
        "do",
        "n't",
        "think",
        "it",
        "'s",
        "3.5",
        "km",
        ".",
    ]
    # URLs, e-mail addresses, emoticons, numbers and punctuation runs are one word each, as in
    # EWT (the regex this replaced split every one of them).
    assert split_words(
        "Yes!!! See you at 10:30 :-) or mail me@example.com ... U.S. $1,000 ====="
    ) == [
        "Yes",
        "!!!",
        "See",
        "you",
        "at",
        "10:30",
        ":-)",
        "or",
        "mail",
        "me@example.com",
        "...",
        "U.S.",
        "$",
        "1,000",
        "=====",
    ]
    assert split_words("我们去北京") == ["我", "们", "去", "北", "京"]
    assert split_words("bad\x00con\x07trol") == ["badcontrol"]
    assert split_words("Привет, мир!") == ["Привет", ",", "мир", "!"]
    assert split_words(" \u200b \t\n") == []
    # A lone surrogate (JSON allows "\ud800") is dropped like a control character.
    assert word_spans("broken\ud800here \udfff .") == [("brokenhere", 0, 11), (".", 14, 15)]


def test_word_offsets_are_the_words_as_written():
    text = "  Visit\u200bus at http://www.example.com/a?b=1 now!!!\n\nok"
    spans = word_spans(text)
    assert [word for word, _, _ in spans] == [
        "Visitus",
        "at",
        "http://www.example.com/a?b=1",
        "now",
        "!!!",
        "ok",
    ]
    for word, start, end in spans:
        assert text[start:end].replace("\u200b", "") == word


def test_sentences_of_a_document_are_found_with_their_offsets():
    text = "  Hello there Mr. Smith. How are you?  I am fine.\n\nA new paragraph  "
    spans = sentence_spans(text)
    assert [text[start:end] for start, end in spans] == [
        "Hello there Mr. Smith.",
        "How are you?",
        "I am fine.",
        "A new paragraph",
    ]
    assert sentence_spans(" \n\t ") == []


def test_a_long_segment_is_cut_after_sentence_final_punctuation():
    """
    sentencex does not end a sentence inside quotes or before a lowercase word; a segment of
    more than LONG_SEGMENT_WORDS words is cut after each ".", "?" or "!" word too (closing quotes
    kept), never after an abbreviation or an ellipsis. A shorter one stays as sentencex found it.
    """
    from srl_plugin.hf.words import LONG_SEGMENT_WORDS

    quoted = (
        'Excerpt: "His nationalism was supple enough to compromise with Mr. Sharon and to imagine'
        " a two-state solution, even if the road remained rocky. The continued colonization of the"
        " territories helped, along with attacks by radical groups, to derail the peace process."
        '" you guys want to watch the game... at woodrow s tomorrow? there will be girls there'
    )
    assert len(word_spans(quoted)) > LONG_SEGMENT_WORDS
    assert [quoted[start:end] for start, end in sentence_spans(quoted)] == [
        'Excerpt: "His nationalism was supple enough to compromise with Mr. Sharon and to imagine'
        " a two-state solution, even if the road remained rocky.",
        "The continued colonization of the territories helped, along with attacks by radical"
        ' groups, to derail the peace process."',
        "you guys want to watch the game... at woodrow s tomorrow?",
        "there will be girls there",
    ]
    short = 'Excerpt: "It was rocky. The process stalled." you guys want to come?'
    assert len(sentence_spans(short)) == 1


@pytest.mark.parametrize(
    "item, message",
    [
        ("", "empty"),
        ("  \t ", "empty"),
        ({"sentence": 3}, "'sentence' must be a string"),
        ({"tokens": "a b"}, "'tokens' must be a list of strings"),
        ({"tokens": []}, "is empty"),
        ({"tokens": ["a", " "]}, "word 1"),
        ({"text": "x"}, "unknown keys ['text']"),
        ({"sentence": "a", "tokens": ["a"]}, "exactly one"),
        (
            {"tokens": ["a", "b"], "predicates": [2]},
            "predicate index 2 is outside the sentence (2 words)",
        ),
        ({"tokens": ["a", "b"], "predicates": [-1]}, "outside"),
        ({"tokens": ["a", "b"], "predicates": ["1"]}, "not an integer"),
        ({"tokens": ["a", "b"], "predicates": 1}, "must be a list"),
        (42, "not int"),
    ],
)
def test_bad_items_are_named(item, message):
    with pytest.raises(ValueError, match=None) as error:
        parse_item(item)
    assert message in str(error.value)


def test_batch_with_bad_items_labels_the_rest(labeler):
    items = [
        {"tokens": ["the", "man", "said", "it"], "predicates": [2]},
        {"tokens": ["a"], "predicates": [4]},
        "",
        ["the", "man", "said", "it"],
    ]
    outputs = labeler.predict_batch(items, raise_errors=False)
    assert "outside the sentence" in outputs[1]["error"] and "empty" in outputs[2]["error"]
    first = outputs[0]["verbs"][0]
    assert first["verb"] == "said" and first["predicate_indices"] == [2] and len(first["tags"]) == 4
    # Every argument is a span of its role's tags, its text the span's words.
    words = ["the", "man", "said", "it"]
    for argument in first["arguments"]:
        span = first["tags"][argument["start"] : argument["end"] + 1]
        assert span[0][2:] == argument["role"] and all(
            t == "I-" + argument["role"] for t in span[1:]
        )
        assert argument["text"] == " ".join(words[argument["start"] : argument["end"] + 1])
    assert outputs[3]["words"] == ["the", "man", "said", "it"]
    with pytest.raises(ValueError, match="item 1: predicate index 4"):
        labeler.predict_batch(items)


def test_batching_does_not_change_tags(labeler):
    sentences = [["the", "man", "said", "it", "was", "over"][: n + 2] for n in range(5)]
    items = [{"tokens": s, "predicates": list(range(len(s)))} for s in sentences]
    together = labeler.predict_batch(items)
    alone = [labeler.predict(item) for item in items]
    assert together == alone


def test_5000_word_sentence_is_labelled_in_windows(labeler):
    words = ["the", "man", "said"] * 1667
    output = labeler.predict({"tokens": words, "predicates": [4000]})
    tags = output["verbs"][0]["tags"]
    assert len(tags) == len(words)
    # The window around the predicate is at most 128 wordpieces (the tiny encoder); the rest is O.
    labelled = [i for i, tag in enumerate(tags) if tag != "O"]
    assert labelled and max(labelled) - min(labelled) < 128 and min(labelled) > 3800
    found = labeler.predict(" ".join(words))  # Predicate identification over windows too.
    assert len(found["words"]) == len(words)


def test_any_script_and_control_characters(labeler):
    for sentence in ["我们今天去北京。", "Привет мир", "a\x00b\x1fc d", "🙂 emoji ok", "ﷺ العربية"]:
        output = labeler.predict(sentence)
        assert len(output["words"]) > 0
        for verb in output["verbs"]:
            assert len(verb["tags"]) == len(output["words"])


def test_description_is_allennlp_models_format():
    from srl_plugin.hf.labels import make_srl_string

    words = ["The", "cat", "sat", "down"]
    assert (
        make_srl_string(words, ["B-ARG0", "I-ARG0", "B-V", "O"]) == "[ARG0: The cat] [V: sat] down"
    )


RAW = "Prices rose :-RRB- to $$$ at http://www.example.com/a today ."


def test_raw_text_spans_are_the_sentences_own_characters():
    # Words as a splitter that splits runs and URLs would give them ("$ $ $", "http :"): the
    # spans' text is still the sentence's own characters, not the words joined by spaces.
    words = ["Prices", "rose", ":", "-RRB-", "to", "$", "$", "$", "at", "http", ":", "today", "."]
    offsets, position = [], 0
    for word in words:
        start = RAW.index(word, position)
        offsets.append((start, start + len(word)))
        position = start + len(word)
    offsets[10] = (offsets[10][0], RAW.index(" today"))  # ":" ends where the URL ends
    dollars = [5, 6, 7]
    tags = ["O"] * len(words)
    tags[5], tags[6], tags[7] = "B-V", "I-V", "I-V"
    tags[2:4] = ["B-ARG1", "I-ARG1"]
    tags[9:11] = ["B-ARGM-LOC", "I-ARGM-LOC"]
    raw = frame_result(words, dollars, tags, offsets=offsets, text=RAW)
    assert raw["verb"] == "$$$"
    assert [a["text"] for a in raw["arguments"]] == [":-RRB-", "http://www.example.com/a"]
    for argument in raw["arguments"]:
        assert argument["text"] == RAW[argument["char_start"] : argument["char_end"]]
    # Words given as a list keep the joined form.
    given = frame_result(words, dollars, tags)
    assert given["verb"] == "$ $ $"
    assert given["arguments"][0]["text"] == ": -RRB-"


def test_labeler_gives_raw_text_as_written(labeler):
    words = split_words(RAW)
    dollars = words.index("$$$")
    raw = labeler.predict({"sentence": RAW, "predicates": [dollars]})
    assert raw["verbs"][0]["verb"] == "$$$"
    for argument in raw["verbs"][0]["arguments"]:
        assert argument["text"] == RAW[argument["char_start"] : argument["char_end"]]
    given = labeler.predict({"tokens": ["$", "$", "$", "rose"], "predicates": [[0, 1, 2]]})
    assert given["verbs"][0]["verb"] == "$ $ $"
    for argument in given["verbs"][0]["arguments"]:
        assert argument["text"] == " ".join(
            ["$", "$", "$", "rose"][argument["start"] : argument["end"] + 1]
        )


def test_predicates_of_later_windows_are_found_at_their_own_positions(labeler):
    """
    A sentence longer than the encoder is read in windows: the predicates the head marks in
    each window are reported at their positions in the whole sentence, later windows included.
    """
    import torch

    from srl_plugin.hf.frames import sentence_frames
    from srl_plugin.hf.labels import predicate_spans
    from tests import EWT_SAMPLE
    from tests.tiny_bert import conll_words

    words = conll_words(str(EWT_SAMPLE))[:300]  # varied words: no window repeats another
    windows = sentence_frames(labeler.aligner, words, labeler.max_wordpieces)
    assert labeler.max_wordpieces == 128 and len(windows) >= 3
    assert [w.window[0] for w in windows[1:]] == [w.window[1] for w in windows[:-1]]
    assert (windows[0].window[0], windows[-1].window[1]) == (0, len(words))
    # The oracle: the head run on each window alone, each word read at its first wordpiece and
    # put at (window start + its index in the window).
    labels = [None] * len(words)
    for window in windows:
        start, end = window.window
        pieces = labeler.aligner.tokenize(words[start:end])
        assert window.input_ids == pieces.ids
        with torch.no_grad():
            logits = labeler.model(input_ids=torch.tensor([pieces.ids])).predicate_logits[0]
        for index, offset in enumerate(pieces.start_offsets):
            labels[start + index] = int(logits[offset].argmax())
    assert None not in labels
    expected = predicate_spans(labels)
    found = labeler.find_predicates([words])[0]
    assert found == expected
    # Every window has predicates (and words that are not), so a shifted or dropped window shows.
    for window in windows:
        start, end = window.window
        inside = [p for p in found if start <= p[0] < end]
        assert 0 < len(inside) < end - start, window.window
    # The same among other sentences: each window is put back into its own sentence.
    short = ["the", "man", "said"]
    assert labeler.find_predicates([short, words, short]) == [
        labeler.find_predicates([short])[0],
        expected,
        labeler.find_predicates([short])[0],
    ]


def test_a_long_sentence_does_not_pad_a_batch_of_short_ones(labeler, monkeypatch):
    """
    Predicate identification reads sentences whole: a segment of 100+ sub-words (missed
    boundaries among URLs) is batched so that no batch pads more than batch_size x 64 sub-words
    (unless one window alone is longer), with the same predicates as one sentence at a time.
    """
    from tests import EWT_SAMPLE
    from tests.tiny_bert import conll_words

    short = [["the", "man", "said", "so", "."], ["she", "left"]] * 12
    long = conll_words(str(EWT_SAMPLE))[:80]  # about 100 sub-words: under the encoder's 128
    sentences = [long] + short
    alone = [labeler.find_predicates([words])[0] for words in sentences]
    shapes = []
    forward = labeler.forward

    def recording(frames):
        shapes.append((len(frames), max(len(frame.input_ids) for frame in frames)))
        return forward(frames)

    monkeypatch.setattr(labeler, "forward", recording)
    assert labeler.find_predicates(sentences) == alone
    assert shapes[0][1] > 64 and sum(rows for rows, _ in shapes) == len(sentences)
    for rows, longest in shapes:
        assert rows <= labeler.batch_size
        assert rows == 1 or rows * longest <= labeler.batch_size * 64
