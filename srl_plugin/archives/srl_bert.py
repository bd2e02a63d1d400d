"""
Archives of allennlp-models' `srl_bert` (e.g. `structured-prediction-srl-bert.2020.12.15.tar.gz`)
as this plugin's model: the weight names, the BERT config and the tokenizer that such archives
do not hold, and the equivalent `hf_srl` experiment config.
"""

import logging
import os
from typing import Any, Dict, Optional, Tuple, Union

import torch
from transformers import BertConfig, BertTokenizer

from srl_plugin.archives.files import CONFIG_FILE, ArchiveFiles
from srl_plugin.hf.checkpoints.building import build_exact, to_srl_names
from srl_plugin.hf.checkpoints.export import read_aligner, read_encoder_config
from srl_plugin.hf.modeling import BertForSemanticRoleLabeling
from srl_plugin.hf.tokenization import FAST_TOKENIZER_FILE, VOCAB_FILE, WordPieceAligner
from srl_plugin.hf.checkpoints.weights import CheckpointError

logger = logging.getLogger(__name__)

# BERT checkpoints published by Google all have 64-wide attention heads.
ATTENTION_HEAD_SIZE = 64
# `allennlp evaluate` needs a data loader in the archive's config: training_configs/srl.jsonnet's.
DEFAULT_DATA_LOADER = {"batch_sampler": {"type": "bucket", "batch_size": 32}}


def read_srl_bert_archive(
    files: ArchiveFiles,
    config: Dict[str, Any],
    tokenizer: Optional[str] = None,
    bert_config: Optional[str] = None,
    lowercase: Optional[bool] = None,
) -> Tuple[BertForSemanticRoleLabeling, WordPieceAligner, Dict[str, Any], str]:
    """
    An `srl_bert` archive (its `config.json` already read as `config`) as this plugin's model:
    the model with every weight of the archive, the tokenizer its reader used, an `hf_srl`
    experiment config and what it was fine-tuned from. The last three arguments are
    `read_srl_checkpoint`'s.
    """
    path = files.path
    model_params = config["model"]
    reader_params = config.get("dataset_reader") or {}
    bert_model = model_params.get("bert_model")
    reader_bert = reader_params.get("bert_model_name")
    if not reader_bert:
        raise CheckpointError(
            f"{path}: its dataset_reader has no bert_model_name, so it was not trained on BERT "
            "wordpieces"
        )
    aligner = srl_bert_aligner(reader_bert, bert_model, tokenizer, lowercase, path)
    upstream_state, weights = files.weights()
    state = srl_bert_to_srl_names(upstream_state, weights)
    labels, labels_file = files.labels()
    hf_config = _bert_config(bert_model, bert_config, state, path)
    dropout = float(model_params.get("embedding_dropout", 0.0))
    hf_config.classifier_dropout = dropout
    model = build_exact(hf_config, state, labels, weights, labels_file)
    if max(aligner.vocab.values()) >= hf_config.vocab_size:
        raise CheckpointError(
            f"{path}: the tokenizer has {len(aligner.vocab)} wordpieces but the weights only "
            f"{hf_config.vocab_size} embeddings: it is not this archive's BERT vocabulary"
        )
    base = bert_model if isinstance(bert_model, str) else f"{os.path.basename(path)} (srl_bert)"
    kept = ("train_data_path", "validation_data_path", "data_loader", "validation_data_loader")
    experiment = {key: config[key] for key in kept if key in config}
    experiment.setdefault("data_loader", DEFAULT_DATA_LOADER)
    experiment["dataset_reader"] = {
        "type": "hf_srl",
        "bert_model": base,
        "predicate_instances": False,
    }
    if reader_params.get("domain_identifier"):
        experiment["dataset_reader"]["domain_identifier"] = reader_params["domain_identifier"]
    experiment["model"] = {
        "type": "hf_srl",
        "bert_model": base,
        "predicate_head": False,
        "classifier_dropout": dropout,
    }
    if model_params.get("label_smoothing") is not None:
        experiment["model"]["label_smoothing"] = model_params["label_smoothing"]
    return model, aligner, experiment, base


def srl_bert_to_srl_names(state: Dict[str, torch.Tensor], source: str) -> Dict[str, torch.Tensor]:
    """
    `SrlBert` weight names as `BertForSemanticRoleLabeling`'s: its `bert_model` (a `BertModel`,
    whose pooler is dropped) becomes `bert`, its `tag_projection_layer` the `classifier`.
    """
    renamed = {}
    for name, tensor in state.items():
        if name.startswith("bert_model."):
            renamed["bert." + name[len("bert_model.") :]] = tensor
        elif name.startswith("tag_projection_layer."):
            renamed["classifier." + name[len("tag_projection_layer.") :]] = tensor
        else:
            raise CheckpointError(f"{source}: unexpected weight {name} for an srl_bert model")
    return to_srl_names(renamed)


def _bert_config(
    bert_model: Union[str, Dict[str, Any], None],
    bert_config: Optional[str],
    state: Dict[str, torch.Tensor],
    source: str,
) -> BertConfig:
    if bert_config is not None:
        return _read_bert_config(bert_config, source)
    if isinstance(bert_model, dict):
        return BertConfig.from_dict(bert_model)
    if isinstance(bert_model, str):
        if os.path.isfile(os.path.join(bert_model, CONFIG_FILE)):
            return _read_bert_config(bert_model, source)
        try:
            return BertConfig.from_pretrained(bert_model, local_files_only=True)
        except (OSError, ValueError):
            pass
    return infer_bert_config(state, source)


def _read_bert_config(path: str, source: str) -> BertConfig:
    # An srl_bert archive's encoder is BERT: a config of another family is the wrong one.
    config = read_encoder_config(path, source)
    if config.model_type != "bert":  # (RobertaConfig is a BertConfig in transformers 4.20)
        raise CheckpointError(
            f"{source}: {path} is a {config.model_type} config; srl_bert archives hold BERT"
        )
    return config


def infer_bert_config(state: Dict[str, torch.Tensor], source: str) -> BertConfig:
    """
    The `BertConfig` that fits BERT weights (with SRL names), for archives that name a BERT that
    is not at hand. Sizes come from the weights' shapes; the number of attention heads cannot,
    and is taken as `hidden_size / 64`, as in every BERT published by Google. Activation and
    layer-norm epsilon are BERT's defaults.
    """
    embeddings = "bert.embeddings.{}_embeddings.weight"
    try:
        vocab_size, hidden_size = state[embeddings.format("word")].shape
        max_positions = state[embeddings.format("position")].size(0)
        type_vocab_size = state[embeddings.format("token_type")].size(0)
        intermediate_size = state["bert.encoder.layer.0.intermediate.dense.weight"].size(0)
    except KeyError as error:
        raise CheckpointError(f"{source}: no BERT weight {error.args[0]}") from None
    layers = {name.split(".")[3] for name in state if name.startswith("bert.encoder.layer.")}
    if hidden_size % ATTENTION_HEAD_SIZE:
        raise CheckpointError(
            f"{source}: the BERT config is not at hand and hidden size {hidden_size} is not a "
            f"multiple of {ATTENTION_HEAD_SIZE}, so the number of attention heads cannot be "
            "guessed: give the BERT config (--bert-config)"
        )
    heads = hidden_size // ATTENTION_HEAD_SIZE
    logger.warning(
        "%s: BERT config not found; inferred %d layers, hidden size %d and %d attention heads "
        "(assumed %d wide) from the weights: give --bert-config if this BERT differs",
        source,
        len(layers),
        hidden_size,
        heads,
        ATTENTION_HEAD_SIZE,
    )
    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=len(layers),
        num_attention_heads=heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_positions,
        type_vocab_size=type_vocab_size,
    )


def srl_bert_aligner(
    reader_bert: str,
    bert_model: Union[str, Dict[str, Any], None],
    tokenizer: Optional[str],
    lowercase: Optional[bool],
    source: str,
) -> WordPieceAligner:
    """
    Words to wordpieces as allennlp-models' `SrlReader` with `bert_model_name=reader_bert` did,
    from the folder `tokenizer`, else `reader_bert` or `bert_model` when it is a folder, else
    the Hugging Face cache.
    """
    # allennlp-models' SrlReader lowercases exactly when its bert_model_name says "uncased".
    if lowercase is None:
        lowercase = "uncased" in reader_bert
    candidates = [tokenizer] if tokenizer else [reader_bert, bert_model]
    for candidate in candidates:
        if isinstance(candidate, str) and _has_vocabulary(candidate):
            base = read_aligner(candidate)
            if not isinstance(base, WordPieceAligner):
                raise CheckpointError(f"{candidate}: srl_bert archives need a BERT tokenizer")
            # SrlReader writes the literal "[CLS]" and "[SEP]" whatever the tokenizer's config says.
            return WordPieceAligner(
                base.vocab, lowercase, unk_token=base.unk_token, pad_token=base.pad_token
            )
    if tokenizer:
        raise CheckpointError(f"{tokenizer}: no {VOCAB_FILE} (or WordPiece {FAST_TOKENIZER_FILE})")
    try:
        cached = BertTokenizer.from_pretrained(reader_bert, local_files_only=True)
    except (OSError, ValueError):
        raise CheckpointError(
            f"{source}: the archive holds no WordPiece vocabulary and its reader's "
            f"bert_model_name {reader_bert!r} is neither a local folder nor in the Hugging Face "
            "cache: give a folder with its vocab.txt (--tokenizer DIR)"
        ) from None
    return WordPieceAligner(dict(cached.vocab), lowercase)


def _has_vocabulary(folder: str) -> bool:
    return any(
        os.path.isfile(os.path.join(folder, name)) for name in (VOCAB_FILE, FAST_TOKENIZER_FILE)
    )
