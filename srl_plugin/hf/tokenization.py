"""
Words to sub-words, with each word's first and last sub-word: one alignment for the reader, the
AllenNLP model, the labeler and the pipeline. `aligner_from_pretrained` picks the family's.

BERT (`WordPieceAligner`): exactly as allennlp-models' `SrlReader` does it: each given word is
lowercased when the checkpoint's tokenizer lowercases, then split by WordPiece alone (no
punctuation splitting, no accent stripping), inside `[CLS] ... [SEP]`. Archives trained by
allennlp-models and by this plugin therefore see the same input ids.

The tokenizer is read from the checkpoint's files (`vocab.txt` or `tokenizer.json`, and
`tokenizer_config.json`), not through a transformers tokenizer class, so it behaves the same with
every transformers version. The export's `tokenizer.json` reproduces it for plain Hugging Face
users (`is_split_into_words=True`): see `srl_plugin.hf.checkpoints.tokenizer_files`.

Every other family (`SubwordAligner`): the checkpoint's own `tokenizer.json` (byte-level BPE,
SentencePiece Unigram/BPE or WordPiece), driven through the `tokenizers` library, so the split is
the same with every transformers version; each word is a pre-split word, as
`is_split_into_words=True` makes it: byte-level BPE and SentencePiece mark it as a word start
(`Ġ`, `▁`), as RoBERTa's `add_prefix_space=True` does.
"""

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from srl_plugin.hf.config import FileReader, config_json, folder_files, read_json_file
from srl_plugin.hf.families import Family, family, read_family

TOKENIZER_CONFIG = "tokenizer_config.json"
VOCAB_FILE = "vocab.txt"
FAST_TOKENIZER_FILE = "tokenizer.json"
SPECIAL_TOKENS_FILE = "special_tokens_map.json"
# transformers' WordpieceTokenizer maps longer words to [UNK].
MAX_CHARS_PER_WORD = 100


@dataclass
class WordPieces:
    """
    A sentence as wordpieces.

    # Parameters

    ids : `List[int]`
        Wordpiece ids, `[CLS]` first and `[SEP]` last.
    start_offsets : `List[int]`
        For each word, the index in `ids` of its first wordpiece (where its tag is read).
    end_offsets : `List[int]`
        For each word, the index in `ids` of its last wordpiece.
    """

    ids: List[int]
    start_offsets: List[int]
    end_offsets: List[int]


class WordPieceAligner:
    """
    Splits given words into wordpieces and keeps the word-to-wordpiece alignment.

    # Parameters

    vocab : `Dict[str, int]`
        The WordPiece vocabulary.
    lowercase : `bool`
        Whether words are lowercased first (the tokenizer's `do_lower_case`).
    unk_token, cls_token, sep_token, pad_token : `str`
        The special tokens, as in the tokenizer's configuration.
    """

    def __init__(
        self,
        vocab: Dict[str, int],
        lowercase: bool,
        unk_token: str = "[UNK]",
        cls_token: str = "[CLS]",
        sep_token: str = "[SEP]",
        pad_token: str = "[PAD]",
    ) -> None:
        for token in (unk_token, cls_token, sep_token, pad_token):
            if token not in vocab:
                raise ValueError(f"special token {token!r} is not in the WordPiece vocabulary")
        self.vocab = vocab
        self.lowercase = lowercase
        self.unk_token, self.cls_token, self.sep_token, self.pad_token = (
            unk_token,
            cls_token,
            sep_token,
            pad_token,
        )
        self.unk_id, self.cls_id, self.sep_id, self.pad_id = (
            vocab[unk_token],
            vocab[cls_token],
            vocab[sep_token],
            vocab[pad_token],
        )
        # Words repeat a lot; caching makes the pure-Python WordPiece as fast as the Rust one here.
        self.word_to_ids = lru_cache(maxsize=2**16)(self._word_to_ids)

    @classmethod
    def from_pretrained(cls, directory: str) -> "WordPieceAligner":
        """Reads `vocab.txt` (or `tokenizer.json`) and `tokenizer_config.json` from `directory`."""
        return cls.from_files(folder_files(directory), directory)

    @classmethod
    def from_files(cls, read: FileReader, shown: str) -> "WordPieceAligner":
        """The same from the files that `read(name)` gives (`None` for a missing one)."""
        config = read_json_file(read, TOKENIZER_CONFIG, shown) or {}
        special = read_json_file(read, SPECIAL_TOKENS_FILE, shown) or {}
        fast = read_json_file(read, FAST_TOKENIZER_FILE, shown)
        vocab_text = read(VOCAB_FILE)
        if vocab_text is not None:
            tokens = vocab_text.decode("utf-8").split("\n")
            if tokens and tokens[-1] == "":
                tokens.pop()
            vocab = {token.rstrip("\r"): index for index, token in enumerate(tokens)}
        elif fast is not None and fast.get("model", {}).get("type") == "WordPiece":
            vocab = dict(fast["model"]["vocab"])
        else:
            raise ValueError(
                f"{shown} holds no WordPiece vocabulary ({VOCAB_FILE} or a WordPiece "
                f"{FAST_TOKENIZER_FILE}); only BERT-style WordPiece checkpoints are supported"
            )
        lowercase = config.get("do_lower_case")
        if lowercase is None:
            lowercase = _fast_tokenizer_lowercases(fast) if fast is not None else True

        def token(name: str, default: str) -> str:
            value = config.get(name) or special.get(name) or default
            return value["content"] if isinstance(value, dict) else value

        return cls(
            vocab,
            bool(lowercase),
            unk_token=token("unk_token", "[UNK]"),
            cls_token=token("cls_token", "[CLS]"),
            sep_token=token("sep_token", "[SEP]"),
            pad_token=token("pad_token", "[PAD]"),
        )

    def _word_to_ids(self, word: str) -> Tuple[int, ...]:
        # transformers' WordpieceTokenizer.tokenize, which upstream's reader calls per word.
        if self.lowercase:
            word = word.lower()
        ids: List[int] = []
        for chunk in word.split():
            if len(chunk) > MAX_CHARS_PER_WORD:
                ids.append(self.unk_id)
                continue
            start, pieces = 0, []
            while start < len(chunk):
                end, piece_id = len(chunk), None
                while start < end:
                    piece = chunk[start:end] if start == 0 else "##" + chunk[start:end]
                    if piece in self.vocab:
                        piece_id = self.vocab[piece]
                        break
                    end -= 1
                if piece_id is None:
                    pieces = [self.unk_id]
                    break
                pieces.append(piece_id)
                start = end
            ids.extend(pieces)
        return tuple(ids)

    def tokenize(self, words: Sequence[str]) -> WordPieces:
        """The wordpieces of `words` inside `[CLS] ... [SEP]`, with each word's offsets."""
        ids = [self.cls_id]
        start_offsets, end_offsets = [], []
        for word in words:
            start_offsets.append(len(ids))
            ids.extend(self.word_to_ids(word))
            end_offsets.append(len(ids) - 1)
        ids.append(self.sep_id)
        return WordPieces(ids, start_offsets, end_offsets)

    def convert_ids_to_tokens(self, ids: Sequence[int]) -> List[str]:
        if not hasattr(self, "_id_to_token"):
            self._id_to_token = {index: token for token, index in self.vocab.items()}
        return [self._id_to_token[i] for i in ids]


class SubwordAligner:
    """
    Splits given words into sub-words with a `tokenizers` tokenizer and keeps the alignment.

    # Parameters

    tokenizer_json : `Dict`
        The checkpoint's `tokenizer.json`; its pre-tokenizer is set to mark every given word as a
        word start and its post-processor to `cls_token ... sep_token` (`for_split_words`).
    cls_token, sep_token, pad_token, unk_token : `str`
        The special tokens.
    """

    def __init__(
        self,
        tokenizer_json: Dict[str, Any],
        cls_token: str,
        sep_token: str,
        pad_token: str,
        unk_token: str,
        mask_token: Optional[str] = None,
    ) -> None:
        from tokenizers import Tokenizer

        self.cls_token, self.sep_token, self.pad_token, self.unk_token = (
            cls_token,
            sep_token,
            pad_token,
            unk_token,
        )
        self.mask_token = mask_token
        base = Tokenizer.from_str(json.dumps(tokenizer_json))
        ids = []
        for token in (cls_token, sep_token, pad_token, unk_token):
            index = base.token_to_id(token)
            if index is None:
                raise ValueError(f"special token {token!r} is not in the tokenizer's vocabulary")
            ids.append(index)
        self.cls_id, self.sep_id, self.pad_id, self.unk_id = ids
        self.tokenizer_json = for_split_words(
            tokenizer_json, (cls_token, self.cls_id), (sep_token, self.sep_id)
        )
        self.tokenizer = Tokenizer.from_str(json.dumps(self.tokenizer_json))

    @classmethod
    def from_pretrained(cls, directory: str, family: Optional[Family] = None) -> "SubwordAligner":
        """Reads `tokenizer.json` and the special tokens of `tokenizer_config.json`."""
        return cls.from_files(folder_files(directory), family or read_family(directory), directory)

    @classmethod
    def from_files(cls, read: FileReader, family: Family, shown: str) -> "SubwordAligner":
        """The same from the files that `read(name)` gives (`None` for a missing one)."""
        fast = read_json_file(read, FAST_TOKENIZER_FILE, shown)
        if fast is None:
            raise ValueError(
                f"{shown} has no {FAST_TOKENIZER_FILE}: a {family.model_type} tokenizer is "
                "read from it (write it once where the family's tokenizer loads, e.g. "
                "`AutoTokenizer.from_pretrained(dir).save_pretrained(dir)` with sentencepiece "
                "installed)"
            )
        config = read_json_file(read, TOKENIZER_CONFIG, shown) or {}
        special = read_json_file(read, SPECIAL_TOKENS_FILE, shown) or {}

        def token(name: str, default: Optional[str]) -> Optional[str]:
            value = config.get(name) or special.get(name) or default
            return value["content"] if isinstance(value, dict) else value

        return cls(
            fast,
            cls_token=token("cls_token", family.cls_token),  # type: ignore[arg-type]
            sep_token=token("sep_token", family.sep_token),  # type: ignore[arg-type]
            pad_token=token("pad_token", family.pad_token),  # type: ignore[arg-type]
            unk_token=token("unk_token", family.unk_token),  # type: ignore[arg-type]
            mask_token=token("mask_token", None),
        )

    def tokenize(self, words: Sequence[str]) -> WordPieces:
        """
        The sub-words of `words` inside the special tokens, with each word's offsets. A word the
        tokenizer turns into nothing (only characters its normalizer drops) becomes the unknown
        token, so that every word has a sub-word to be tagged at.
        """
        ids = [self.cls_id]
        start_offsets, end_offsets = [], []
        pieces: List[List[int]] = [[] for _ in words]
        if words:
            encoding = self.tokenizer.encode(
                list(words), is_pretokenized=True, add_special_tokens=False
            )
            for piece, word in zip(encoding.ids, encoding.word_ids):
                pieces[word].append(piece)
        for word_pieces in pieces:
            start_offsets.append(len(ids))
            ids.extend(word_pieces or [self.unk_id])
            end_offsets.append(len(ids) - 1)
        ids.append(self.sep_id)
        return WordPieces(ids, start_offsets, end_offsets)

    def convert_ids_to_tokens(self, ids: Sequence[int]) -> List[str]:
        return [self.tokenizer.id_to_token(i) for i in ids]


Aligner = Union[WordPieceAligner, SubwordAligner]


def aligner_from_pretrained(directory: str) -> Aligner:
    """
    The aligner of a checkpoint folder's family (`config.json`'s `model_type`): BERT's
    allennlp-models split, or the family's own `tokenizer.json`.

    # Raises

    `ValueError` for a family that is not supported or a tokenizer that cannot be read.
    """
    return aligner_from_files(folder_files(directory), directory)


def aligner_from_files(read: FileReader, shown: str) -> Aligner:
    """
    `aligner_from_pretrained` on the files that `read(name)` gives (`None` for a missing one),
    e.g. an export inside an archive read in memory; `shown` names them in errors.
    """
    config = config_json(read, shown)
    if config is None:
        # A bare BERT vocabulary folder (e.g. srl-export --tokenizer DIR of an srl_bert archive).
        return WordPieceAligner.from_files(read, shown)
    checkpoint_family = family(config["model_type"], shown)
    if checkpoint_family.model_type == "bert":
        return WordPieceAligner.from_files(read, shown)
    return SubwordAligner.from_files(read, checkpoint_family, shown)


def for_split_words(
    tokenizer_json: Dict[str, Any], cls: Tuple[str, int], sep: Tuple[str, int]
) -> Dict[str, Any]:
    """
    A `tokenizer.json` for words given one by one, in the format that every `tokenizers` release
    since 0.12 (transformers 4.20) reads: each word is marked as a word start (byte-level
    `add_prefix_space`, SentencePiece's `▁` on every word); `cls ... sep` around a sentence; no
    truncation or padding.
    """
    result = json.loads(json.dumps(tokenizer_json))
    result["truncation"] = None
    result["padding"] = None
    result["pre_tokenizer"] = _word_start_pre_tokenizer(result.get("pre_tokenizer"))
    model = result.get("model") or {}
    merges = model.get("merges")
    if merges and isinstance(merges[0], list):
        # tokenizers >= 0.20 writes merges as pairs; 0.12 reads "a b" strings (and so do they).
        model["merges"] = [" ".join(pair) for pair in merges]
    for key in ("ignore_merges", "byte_fallback"):
        if not model.get(key, True):
            model.pop(key)
    result["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [
            {"SpecialToken": {"id": cls[0], "type_id": 0}},
            {"Sequence": {"id": "A", "type_id": 0}},
            {"SpecialToken": {"id": sep[0], "type_id": 0}},
        ],
        "pair": [
            {"SpecialToken": {"id": cls[0], "type_id": 0}},
            {"Sequence": {"id": "A", "type_id": 0}},
            {"SpecialToken": {"id": sep[0], "type_id": 0}},
            {"Sequence": {"id": "B", "type_id": 1}},
            {"SpecialToken": {"id": sep[0], "type_id": 1}},
        ],
        "special_tokens": {
            name: {"id": name, "ids": [index], "tokens": [name]} for name, index in (cls, sep)
        },
    }
    return result


def _word_start_pre_tokenizer(pre_tokenizer: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    if not pre_tokenizer:
        return pre_tokenizer
    kind = pre_tokenizer.get("type")
    if kind == "Sequence":
        pre_tokenizer["pretokenizers"] = [
            _word_start_pre_tokenizer(p) for p in pre_tokenizer["pretokenizers"]
        ]
    elif kind == "ByteLevel":
        pre_tokenizer["add_prefix_space"] = True
    elif kind == "Metaspace":
        # The legacy spelling of prepend_scheme="always", which newer releases still read.
        for key in ("prepend_scheme", "split"):
            pre_tokenizer.pop(key, None)
        pre_tokenizer["add_prefix_space"] = True
    return pre_tokenizer


def _fast_tokenizer_lowercases(fast: Dict) -> bool:
    normalizer = fast.get("normalizer") or {}
    kinds = [normalizer] + list(normalizer.get("normalizers", []))
    return any(
        n.get("type") == "Lowercase" or (n.get("type") == "BertNormalizer" and n.get("lowercase"))
        for n in kinds
    )
