import pytest

from srl_plugin.hf.checkpoints.tokenizer_files import write_tokenizer_files
from srl_plugin.hf.frames import predicate_window, wordpiece_frame
from srl_plugin.hf.labels import predicate_bio_labels, predicate_spans
from srl_plugin.hf.tokenization import WordPieceAligner
from tests import EWT_SAMPLE
from tests.tiny_bert import conll_words


@pytest.fixture(scope="module")
def aligner(tiny_bert):
    return WordPieceAligner.from_pretrained(tiny_bert)


def test_wordpieces_and_tags_equal_allennlp_models_reader(tiny_bert, aligner):
    srl = pytest.importorskip("allennlp_models.structured_prediction.dataset_readers.srl")
    reader = srl.SrlReader(bert_model_name=tiny_bert)
    reader.lowercase_input = True  # What "uncased" in the name would give; our config says so.
    count = multiword = 0
    for instance in reader.read(str(EWT_SAMPLE)):
        words, gold = instance["metadata"]["words"], instance["metadata"]["gold_tags"]
        predicate = [i for i, tag in enumerate(gold) if tag.endswith("-V")]
        frame = wordpiece_frame(aligner, words, predicate, 512, gold)
        upstream_ids = [reader.bert_tokenizer.vocab[t.text] for t in instance["tokens"].tokens]
        assert frame.input_ids == upstream_ids
        assert frame.start_offsets == instance["metadata"]["offsets"]
        assert frame.wordpiece_tags == list(instance["tags"].labels)
        assert frame.token_type_ids == list(instance["verb_indicator"].labels)
        multiword += len(predicate) > 1
        count += 1
    assert count == 227 and multiword > 0


def test_multiword_predicate_indicator(aligner):
    frame = wordpiece_frame(aligner, ["they", "broke", "up", "yesterday"], [1, 2], 512)
    marked = [i for i, t in enumerate(frame.token_type_ids) if t]
    assert marked and frame.start_offsets[1] == marked[0] and frame.start_offsets[3] > marked[-1]


def test_lowercasing_follows_the_tokenizer_config():
    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "The": 4, "the": 5}
    cased = WordPieceAligner(vocab, lowercase=False)
    uncased = WordPieceAligner(cased.vocab, lowercase=True)
    assert cased.tokenize(["The"]).ids == [2, 4, 3]
    assert uncased.tokenize(["The"]).ids == [2, 5, 3]


def test_overlong_word_is_unknown_as_in_transformers(aligner):
    assert aligner.tokenize(["a" * 101]).ids[1:-1] == [aligner.unk_id]


def test_window_keeps_the_predicate_and_fits():
    starts = list(range(1, 1001))
    ends = list(range(1, 1001))
    start, end = predicate_window(starts, ends, [700], max_wordpieces=102)
    assert start <= 700 < end and end - start == 100
    assert predicate_window(starts[:10], ends[:10], [3], 512) == (0, 10)


def test_a_window_narrower_than_the_predicates_word_gives_way_to_the_limit():
    # Word 5 is 20 wordpieces (a long URL): a window of 12 cannot hold it.
    widths = [1] * 5 + [20] + [1] * 30
    ends = [sum(widths[: i + 1]) for i in range(len(widths))]
    starts = [end - width + 1 for end, width in zip(ends, widths)]
    with pytest.raises(
        ValueError, match="word 5 alone is 20 wordpieces, more than the encoder's 10"
    ):
        predicate_window(starts, ends, [5], max_wordpieces=12)
    # With the encoder's limit given, the window is the limit's, as without a narrower window.
    assert predicate_window(starts, ends, [5], 12, limit=40) == predicate_window(
        starts, ends, [5], 40
    )
    assert predicate_window(starts, ends, [5], 12, limit=512) == (0, len(widths))
    # A predicate the window holds keeps the window, and the limit alone may still refuse it.
    assert predicate_window(starts, ends, [20], 12, limit=512) == predicate_window(
        starts, ends, [20], 12
    )
    with pytest.raises(ValueError, match="more than the encoder's 16"):
        predicate_window(starts, ends, [5], 12, limit=18)


def test_frame_of_a_long_sentence_is_a_window(aligner):
    words = ["the"] * 300
    tags = ["O"] * 300
    tags[100:110] = ["B-ARG0"] + ["I-ARG0"] * 9
    tags[150] = "B-V"
    frame = wordpiece_frame(aligner, words, [150], 64, tags)
    assert len(frame.input_ids) <= 64
    start, end = frame.window
    assert start <= 150 < end
    word_tags = frame.word_tags(frame.wordpiece_tags, len(words))
    assert word_tags[:start] == ["O"] * start and word_tags[150] == "B-V"


def test_arguments_cut_by_the_window_stay_well_formed(aligner):
    # "said" is four wordpieces in the tiny vocabulary: 15 words fill a 64-wordpiece window.
    assert len(aligner.tokenize(["said"]).ids) == 2 + 4
    words = ["said"] * 100
    tags = ["O"] * 100
    tags[30:48] = ["B-ARG1"] + ["I-ARG1"] * 17
    tags[50] = "B-V"
    tags[53:71] = ["B-ARG2"] + ["I-ARG2"] * 17
    frame = wordpiece_frame(aligner, words, [50], 64, tags)
    start, end = frame.window
    # The window cuts both arguments: ARG1 starts before it, ARG2 ends after it.
    assert 30 < start <= 47 and 53 <= end - 1 < 70
    # The first word's four wordpieces: a span that starts with B-, not a dangling I-.
    assert frame.wordpiece_tags[1:5] == ["B-ARG1", "I-ARG1", "I-ARG1", "I-ARG1"]
    # ARG2 keeps its B- and simply runs to the window's last wordpiece.
    assert frame.wordpiece_tags[-5:] == ["I-ARG2"] * 4 + ["O"]
    word_tags = frame.word_tags(frame.wordpiece_tags, len(words))
    assert word_tags[start:end] == (
        ["B-ARG1"]
        + ["I-ARG1"] * (47 - start)
        + ["O", "O", "B-V", "O", "O"]
        + ["B-ARG2"]
        + ["I-ARG2"] * (end - 54)
    )
    # Every I-X follows a B-X or I-X of the same role: a valid BIO sequence.
    for previous, tag in zip(["O"] + frame.wordpiece_tags, frame.wordpiece_tags):
        if tag.startswith("I-"):
            assert previous[2:] == tag[2:] and previous[:2] in ("B-", "I-"), (previous, tag)


def test_predicate_labels_round_trip():
    frames = [["O", "B-V", "I-V", "B-ARG1"], ["B-ARG0", "O", "O", "B-V"]]
    labels = predicate_bio_labels(4, frames)
    assert labels == [0, 1, 2, 1]
    assert predicate_spans(labels) == [[1, 2], [3]]


def test_vocabulary_from_tokenizer_json_only(tmp_path, aligner):
    write_tokenizer_files(aligner, str(tmp_path), model_max_length=128)
    (tmp_path / "vocab.txt").unlink()
    again = WordPieceAligner.from_pretrained(str(tmp_path))
    words = conll_words(str(EWT_SAMPLE))[:200]
    assert again.tokenize(words).ids == aligner.tokenize(words).ids
