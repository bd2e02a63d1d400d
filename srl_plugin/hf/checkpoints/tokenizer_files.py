"""
The tokenizer files of an export, written so that
`AutoTokenizer.from_pretrained(export)(words, is_split_into_words=True)` gives the ids of the
aligner's `tokenize(words)` with any transformers version (4.20 to 5.x): the generic
`PreTrainedTokenizerFast` class with a `tokenizer.json` that splits words exactly as the aligner
does (`srl_plugin.hf.tokenization`).
"""

import json
import os
from typing import Dict

from srl_plugin.hf.tokenization import (
    FAST_TOKENIZER_FILE,
    MAX_CHARS_PER_WORD,
    SPECIAL_TOKENS_FILE,
    TOKENIZER_CONFIG,
    VOCAB_FILE,
    Aligner,
    SubwordAligner,
    WordPieceAligner,
)


def write_tokenizer_files(aligner: Aligner, directory: str, model_max_length: int) -> None:
    """The tokenizer files of `aligner` (either kind) in `directory`."""
    if isinstance(aligner, WordPieceAligner):
        _write_wordpiece_files(aligner, directory, model_max_length)
    else:
        _write_subword_files(aligner, directory, model_max_length)


def _write_wordpiece_files(
    aligner: WordPieceAligner, directory: str, model_max_length: int
) -> None:
    """
    Writes `vocab.txt`, `tokenizer_config.json`, `special_tokens_map.json` and a fast
    `tokenizer.json` that split words exactly as `tokenize` does, so that
    `AutoTokenizer.from_pretrained(directory)(words, is_split_into_words=True)` gives the same
    ids with any transformers version.
    """
    os.makedirs(directory, exist_ok=True)
    tokens = sorted(aligner.vocab, key=aligner.vocab.__getitem__)
    with open(os.path.join(directory, VOCAB_FILE), "w", encoding="utf-8") as vocab_file:
        vocab_file.writelines(token + "\n" for token in tokens)
    special = {
        "unk_token": aligner.unk_token,
        "sep_token": aligner.sep_token,
        "pad_token": aligner.pad_token,
        "cls_token": aligner.cls_token,
    }
    if "[MASK]" in aligner.vocab:
        special["mask_token"] = "[MASK]"
    config = dict(
        special,
        # The generic fast class loads tokenizer.json as written; BertTokenizer would rebuild
        # BERT's own normalizer and pre-tokenizer in transformers 5.
        tokenizer_class="PreTrainedTokenizerFast",
        do_lower_case=aligner.lowercase,
        do_basic_tokenize=False,
        tokenize_chinese_chars=False,
        strip_accents=False,
        model_max_length=model_max_length,
    )
    _write_json(os.path.join(directory, TOKENIZER_CONFIG), config)
    _write_json(os.path.join(directory, SPECIAL_TOKENS_FILE), special)
    _write_json(os.path.join(directory, FAST_TOKENIZER_FILE), _wordpiece_tokenizer_json(aligner))


def _wordpiece_tokenizer_json(aligner: WordPieceAligner) -> Dict:
    # The `tokenizers` JSON format: Lowercase + WhitespaceSplit + WordPiece is upstream's split.
    def special_token(index: int, content: str) -> Dict:
        return {
            "id": index,
            "content": content,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }

    specials = [aligner.pad_token, aligner.unk_token, aligner.cls_token, aligner.sep_token]
    if "[MASK]" in aligner.vocab:
        specials.append("[MASK]")
    cls_pair = [aligner.cls_token, aligner.cls_id]
    sep_pair = [aligner.sep_token, aligner.sep_id]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special_token(aligner.vocab[t], t) for t in specials],
        "normalizer": {"type": "Lowercase"} if aligner.lowercase else None,
        "pre_tokenizer": {"type": "WhitespaceSplit"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [
                {"SpecialToken": {"id": aligner.cls_token, "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": aligner.sep_token, "type_id": 0}},
            ],
            "pair": [
                {"SpecialToken": {"id": aligner.cls_token, "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": aligner.sep_token, "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 1}},
                {"SpecialToken": {"id": aligner.sep_token, "type_id": 1}},
            ],
            "special_tokens": {
                aligner.cls_token: {
                    "id": cls_pair[0],
                    "ids": [cls_pair[1]],
                    "tokens": [cls_pair[0]],
                },
                aligner.sep_token: {
                    "id": sep_pair[0],
                    "ids": [sep_pair[1]],
                    "tokens": [sep_pair[0]],
                },
            },
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {
            "type": "WordPiece",
            "unk_token": aligner.unk_token,
            "continuing_subword_prefix": "##",
            "max_input_chars_per_word": MAX_CHARS_PER_WORD,
            "vocab": aligner.vocab,
        },
    }


def _write_subword_files(aligner: SubwordAligner, directory: str, model_max_length: int) -> None:
    """
    Writes `tokenizer.json`, `tokenizer_config.json` and `special_tokens_map.json` such that
    `AutoTokenizer.from_pretrained(directory)(words, is_split_into_words=True)` gives the ids
    of `tokenize(words)` with any transformers version (4.20 to 5.x).
    """
    os.makedirs(directory, exist_ok=True)
    special = {
        "cls_token": aligner.cls_token,
        "sep_token": aligner.sep_token,
        "pad_token": aligner.pad_token,
        "unk_token": aligner.unk_token,
    }
    if aligner.mask_token is not None:
        special["mask_token"] = aligner.mask_token
    # The generic fast class loads tokenizer.json as written; the family's own class would
    # rebuild its pre-tokenizer and post-processor (differently in transformers 4 and 5).
    # transformers 4.x resets a byte-level pre-tokenizer's add_prefix_space to this option.
    config = dict(
        special,
        tokenizer_class="PreTrainedTokenizerFast",
        add_prefix_space=True,
        model_max_length=model_max_length,
    )
    _write_json(os.path.join(directory, TOKENIZER_CONFIG), config)
    _write_json(os.path.join(directory, SPECIAL_TOKENS_FILE), special)
    _write_json(os.path.join(directory, FAST_TOKENIZER_FILE), aligner.tokenizer_json)


def _write_json(path: str, value: Dict) -> None:
    with open(path, "w", encoding="utf-8") as json_file:
        json.dump(value, json_file, indent=2, ensure_ascii=False)
        json_file.write("\n")
