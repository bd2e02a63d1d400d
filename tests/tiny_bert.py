"""
Tiny checkpoints built in code (no downloads), shared by the tests and benchmarks: BERT
(`make_tiny_bert`) and every other supported family (`make_tiny_model`), each written as the
family's real checkpoint folder looks (config, weights with the names of the family's published
checkpoints, `tokenizer.json` trained on the given words with the family's kind of tokenizer).
"""

import glob
import json
import os
from collections import Counter
from typing import Any, Dict, Iterable, List

import torch
import transformers
from transformers import BertConfig, BertModel

from srl_plugin.hf.checkpoints.weights import write_safetensors

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def conll_words(root: str) -> List[str]:
    """Every word of the CoNLL-2012 files under `root`."""
    words = []
    for path in sorted(glob.glob(os.path.join(root, "**", "*gold_conll"), recursive=True)):
        with open(path, encoding="utf-8") as conll:
            for line in conll:
                columns = line.split()
                if len(columns) > 11 and not line.startswith("#"):
                    words.append(columns[3])
    return words


def tiny_sizes(max_position_embeddings: int) -> Dict[str, int]:
    """2 layers, 32 wide: the sizes of every tiny checkpoint."""
    return {
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 37,
        "max_position_embeddings": max_position_embeddings,
    }


def make_tiny_bert(
    directory: str,
    words: Iterable[str],
    num_whole_words: int = 300,
    safetensors: bool = False,
    lowercase: bool = True,
    max_position_embeddings: int = 128,
    seed: int = 0,
) -> str:
    """
    Writes a 2-layer, 32-wide BERT checkpoint (config, weights, vocab, tokenizer config) into
    `directory`. Its vocabulary holds the `num_whole_words` most frequent words whole and every
    character as a piece, so rarer words split into several wordpieces.
    """
    os.makedirs(directory, exist_ok=True)
    words = [w.lower() if lowercase else w for w in words]
    characters = sorted({c for w in words for c in w})
    frequent = [w for w, _ in Counter(words).most_common(num_whole_words)]
    vocab = list(SPECIAL_TOKENS)
    for token in frequent + characters + ["##" + c for c in characters]:
        if token not in vocab:
            vocab.append(token)
    with open(os.path.join(directory, "vocab.txt"), "w", encoding="utf-8") as vocab_file:
        vocab_file.writelines(token + "\n" for token in vocab)
    with open(os.path.join(directory, "tokenizer_config.json"), "w") as config_file:
        json.dump({"do_lower_case": lowercase, "tokenizer_class": "BertTokenizer"}, config_file)
    config = BertConfig(vocab_size=len(vocab), **tiny_sizes(max_position_embeddings))
    torch.manual_seed(seed)
    model = BertModel(config)
    if safetensors:
        config.save_pretrained(directory)
        state = {k: v for k, v in model.state_dict().items() if not k.endswith("position_ids")}
        write_safetensors(state, os.path.join(directory, "model.safetensors"))
    else:
        model.save_pretrained(directory)
    return directory


# model_type: (config class, model class whose weight names the published checkpoints have,
# config options beyond the tiny sizes). type_vocab_size is the published checkpoints'.
TINY_FAMILIES: Dict[str, Any] = {
    "roberta": (
        "RobertaConfig",
        "RobertaForMaskedLM",  # roberta-base: roberta.* and lm_head.*
        {"type_vocab_size": 1, "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2},
    ),
    "xlm-roberta": (
        "XLMRobertaConfig",
        "XLMRobertaModel",  # a bare encoder: embeddings.*, encoder.*, pooler.*
        {"type_vocab_size": 1, "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2},
    ),
    "deberta-v2": (
        "DebertaV2Config",
        "DebertaV2Model",
        # deberta-v3-base's options (no token types, relative positions in log buckets).
        {
            "type_vocab_size": 0,
            "position_biased_input": False,
            "relative_attention": True,
            "pos_att_type": ["p2c", "c2p"],
            "max_relative_positions": -1,
            "position_buckets": 16,
            "norm_rel_ebd": "layer_norm",
            "share_att_key": True,
            "pad_token_id": 0,
        },
    ),
    "electra": (
        "ElectraConfig",
        "ElectraForPreTraining",  # electra-*-discriminator: electra.*, discriminator_predictions.*
        {"embedding_size": 16},
    ),
    "albert": (
        "AlbertConfig",
        "AlbertForMaskedLM",  # albert-base-v2: albert.*, predictions.*
        {"embedding_size": 16},
    ),
}
# The published tokenizers' special tokens, in their id order.
_SPECIALS = {
    "roberta": ["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
    "xlm-roberta": ["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
    "deberta-v2": ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"],
    "electra": ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
    "albert": ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"],
}


def tiny_tokenizer(model_type: str, words: Iterable[str], vocab_size: int = 400) -> Any:
    """
    A `tokenizers` tokenizer of the family's kind, trained on `words`: byte-level BPE
    (RoBERTa), SentencePiece-style Unigram with `▁` (XLM-R, DeBERTa-v3, ALBERT, lowercasing as
    ALBERT does) or BERT-style WordPiece (ELECTRA).
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers import trainers

    specials = _SPECIALS[model_type]
    cls, sep = (specials[0], specials[2]) if specials[0] == "<s>" else ("[CLS]", "[SEP]")
    unk = "<unk>" if "<unk>" in specials else "[UNK]"
    if model_type == "roberta":
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        trainer: Any = trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=specials,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        )
    elif model_type == "electra":
        tokenizer = Tokenizer(models.WordPiece(unk_token=unk))
        tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
        tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tokenizer.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials)
    else:
        tokenizer = Tokenizer(models.Unigram())
        steps = [normalizers.NFKC()]
        if model_type == "albert":
            steps = [
                normalizers.Replace("``", '"'),
                normalizers.Replace("''", '"'),
                normalizers.NFKD(),
                normalizers.StripAccents(),
                normalizers.Lowercase(),
            ]
        tokenizer.normalizer = normalizers.Sequence(steps)
        # "▁" before every word (the defaults, spelled differently across tokenizers releases).
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
        tokenizer.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(
            vocab_size=vocab_size, special_tokens=specials, unk_token=unk
        )
    tokenizer.train_from_iterator(list(words), trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{cls} $A {sep}",
        pair=f"{cls} $A {sep} $B:1 {sep}:1",
        special_tokens=[(cls, tokenizer.token_to_id(cls)), (sep, tokenizer.token_to_id(sep))],
    )
    return tokenizer


def make_tiny_model(
    model_type: str,
    directory: str,
    words: Iterable[str],
    max_position_embeddings: int = 128,
    vocab_size: int = 400,
    seed: int = 0,
) -> str:
    """
    Writes a 2-layer, 32-wide checkpoint of `model_type` (a `TINY_FAMILIES` key, or "bert")
    into `directory`, with the family's tokenizer trained on `words` (`tokenizer.json`, plus
    `vocab.json`/`merges.txt` or `vocab.txt` where the family has them).
    """
    words = list(words)
    if model_type == "bert":
        return make_tiny_bert(directory, words, max_position_embeddings=max_position_embeddings)
    os.makedirs(directory, exist_ok=True)
    tokenizer = tiny_tokenizer(model_type, words, vocab_size)
    tokenizer.save(os.path.join(directory, "tokenizer.json"))
    if model_type in ("roberta", "electra"):
        tokenizer.model.save(directory)
    config_name, model_name, options = TINY_FAMILIES[model_type]
    if model_type in ("roberta", "xlm-roberta"):
        # Positions start after the padding index, as in the published checkpoints (514).
        max_position_embeddings += options["pad_token_id"] + 1
    config = getattr(transformers, config_name)(
        vocab_size=tokenizer.get_vocab_size(), **tiny_sizes(max_position_embeddings), **options
    )
    # The caller's random state is left as it was (tests that follow may draw from it).
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        getattr(transformers, model_name)(config).save_pretrained(directory)
    return directory
