"""
Every family's word-to-sub-word alignment on words that tokenizers treat specially: each word
gets exactly one tag, and the tokenizer files written for an export give the same ids through
`AutoTokenizer` (here in whichever environment runs this file: transformers 4.20, 4.x or 5.x).
"""

import pytest

from srl_plugin.hf.checkpoints.tokenizer_files import write_tokenizer_files
from srl_plugin.hf.families import FAMILIES
from srl_plugin.hf.frames import config_max_wordpieces, max_wordpieces, wordpiece_frame
from srl_plugin.hf.tokenization import SubwordAligner, aligner_from_pretrained
from tests import EWT_SAMPLE
from tests.tiny_bert import conll_words, make_tiny_model

LONG_WORD = "qz" * 50
SPECIAL_WORDS = [
    "(Hello",  # leading punctuation
    "world)",  # trailing punctuation
    "--",
    "U.S.",
    "don't",
    "naïve",  # accents
    "Zürich",
    "ÇA",
    "東京",  # CJK
    "日本語",
    "😀",  # emoji
    "👍🏽",
    "ǂʘ",  # characters no vocabulary here knows
    "Xyzzyqwvk",  # a word no vocabulary here knows whole
    LONG_WORD,  # many sub-words
    ".",
]


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def checkpoint(request, tmp_path_factory):
    words = conll_words(str(EWT_SAMPLE))
    folder = tmp_path_factory.mktemp(request.param.replace("-", "_"))
    return make_tiny_model(request.param, str(folder / "checkpoint"), words)


def test_every_word_gets_exactly_one_tag(checkpoint):
    aligner = aligner_from_pretrained(checkpoint)
    pieces = aligner.tokenize(SPECIAL_WORDS)
    assert pieces.ids[0] == aligner.cls_id and pieces.ids[-1] == aligner.sep_id
    assert len(pieces.start_offsets) == len(pieces.end_offsets) == len(SPECIAL_WORDS)
    # Consecutive, non-empty, covering every sub-word between the special tokens.
    assert pieces.start_offsets[0] == 1 and pieces.end_offsets[-1] == len(pieces.ids) - 2
    for word, (start, end) in enumerate(zip(pieces.start_offsets, pieces.end_offsets)):
        assert start <= end, SPECIAL_WORDS[word]
        if word:
            assert start == pieces.end_offsets[word - 1] + 1
    long_word = SPECIAL_WORDS.index(LONG_WORD)
    assert pieces.end_offsets[long_word] - pieces.start_offsets[long_word] + 1 >= 50
    # Tags read back per word: one each, the word's own (its first sub-word's).
    frame = wordpiece_frame(aligner, SPECIAL_WORDS, [4], 512)
    wordpiece_tags = [f"T{i}" for i in range(len(frame.input_ids))]
    tags = frame.word_tags(wordpiece_tags, len(SPECIAL_WORDS))
    assert tags == [f"T{offset}" for offset in pieces.start_offsets]
    marked = [i for i, t in enumerate(frame.token_type_ids) if t]
    assert marked == list(range(pieces.start_offsets[4], pieces.end_offsets[4] + 1))


def test_auto_tokenizer_of_the_written_files_gives_the_same_ids(checkpoint, tmp_path):
    from transformers import AutoTokenizer

    aligner = aligner_from_pretrained(checkpoint)
    write_tokenizer_files(aligner, str(tmp_path), model_max_length=128)
    tokenizer = AutoTokenizer.from_pretrained(str(tmp_path))
    reloaded = aligner_from_pretrained(checkpoint)
    sentences = [SPECIAL_WORDS, ["The", "cat", "sat", "."], ["x"]]
    for words in sentences:
        expected = aligner.tokenize(words).ids
        assert tokenizer(words, is_split_into_words=True)["input_ids"] == expected
        assert reloaded.tokenize(words).ids == expected
    if isinstance(aligner, SubwordAligner):
        again = SubwordAligner.from_pretrained(str(tmp_path), aligner_family(checkpoint))
        assert again.tokenize(SPECIAL_WORDS).ids == aligner.tokenize(SPECIAL_WORDS).ids


def aligner_family(checkpoint):
    from srl_plugin.hf.families import read_family

    return read_family(checkpoint)


def test_roberta_positions_start_after_the_padding_index():
    assert max_wordpieces("roberta", 514, 1) == 512
    assert max_wordpieces("xlm-roberta", 514, 1) == 512
    assert max_wordpieces("bert", 512, 0) == 512

    class Config:
        model_type, max_position_embeddings, pad_token_id = "deberta-v2", 512, 0

    assert config_max_wordpieces(Config()) == 512


def test_unsupported_family_is_named(tmp_path):
    import json

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    with pytest.raises(ValueError, match="'gpt2' model; SRL can start from .*roberta"):
        aligner_from_pretrained(str(tmp_path))


# The pre-training classes of each family's published checkpoints, and bare encoders.
CHECKPOINT_CLASSES = [
    ("bert", "BertForPreTraining"),
    ("roberta", "RobertaModel"),
    ("xlm-roberta", "XLMRobertaForMaskedLM"),
    ("deberta-v2", "DebertaV2ForMaskedLM"),
    ("electra", "ElectraModel"),
    ("electra", "ElectraForMaskedLM"),
    ("albert", "AlbertModel"),
    ("albert", "AlbertForPreTraining"),
]


@pytest.mark.parametrize("model_type,class_name", CHECKPOINT_CLASSES)
def test_training_starts_from_any_checkpoint_layout(model_type, class_name, tmp_path):
    import torch
    import transformers

    from srl_plugin.hf.checkpoints.export import load_pretrained_srl_model
    from tests.tiny_bert import TINY_FAMILIES, tiny_sizes

    options = TINY_FAMILIES[model_type][2] if model_type in TINY_FAMILIES else {}
    config = transformers.AutoConfig.for_model(
        model_type, vocab_size=99, **tiny_sizes(64), **options
    )
    with torch.random.fork_rng():
        torch.manual_seed(0)
        source = getattr(transformers, class_name)(config).eval()
    source.save_pretrained(str(tmp_path))
    model = load_pretrained_srl_model(str(tmp_path), ["O", "B-V", "B-ARG0"]).eval()
    encoder = source.base_model
    ids = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        expected = encoder(input_ids=ids).last_hidden_state
        ours = model.base_model(input_ids=ids).last_hidden_state
    # Unmarked words: the encoder computes what the checkpoint computes (row 0 is kept, or
    # zeros where there was no token-type embedding); the predicate row is new and not row 0.
    assert torch.allclose(expected, ours, atol=1e-6)
    assert model.config.type_vocab_size == 2
    rows = model.base_model.embeddings.token_type_embeddings.weight
    assert not torch.equal(rows[0], rows[1])
    if getattr(source.config, "type_vocab_size", 2) < 2:
        assert 0.005 < rows[1].std().item() < 0.05  # N(0, initializer_range = 0.02)
