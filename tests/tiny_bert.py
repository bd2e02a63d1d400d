"""Tiny BERT checkpoints built in code (no downloads), shared by the tests and benchmarks."""

import glob
import json
import os
from collections import Counter
from typing import Iterable, List

import torch
from transformers import BertConfig, BertModel

from srl_plugin.hf.weights import write_safetensors

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
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=max_position_embeddings,
    )
    torch.manual_seed(seed)
    model = BertModel(config)
    if safetensors:
        config.save_pretrained(directory)
        state = {k: v for k, v in model.state_dict().items() if not k.endswith("position_ids")}
        write_safetensors(state, os.path.join(directory, "model.safetensors"))
    else:
        model.save_pretrained(directory)
    return directory
