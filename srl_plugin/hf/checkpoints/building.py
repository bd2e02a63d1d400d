"""
Checkpoint surgery: a checkpoint's weights turned into the family's SRL model. Weights renamed to
the SRL class's names (`to_srl_names`), the encoder's token types grown to the predicate
marker's two (`with_predicate_marker`, `grow_token_type_embeddings`), classifier rows kept for
labels already known and sense-head rows for rolesets already known, and the model built exactly
from an export's weights (`build_exact`).
"""

import logging
from typing import Dict, Optional, Sequence

import torch
from transformers import PretrainedConfig, PreTrainedModel

from srl_plugin.hf.config import config_rolesets, set_labels, set_rolesets, update_srl_settings
from srl_plugin.hf.families import family
from srl_plugin.hf.fusion import init_predicate_marker
from srl_plugin.hf.modeling import srl_class
from srl_plugin.hf.checkpoints.weights import CheckpointError

logger = logging.getLogger(__name__)

# Checkpoint keys that are not weights of the SRL model: poolers and pre-training heads.
_DROPPED_PREFIXES = (
    "pooler.", "cls.", "lm_head.", "lm_predictions.", "mask_predictions.", "predictions.",
    "discriminator_predictions.", "generator_predictions.", "generator_lm_head.", "sop_classifier.",
)  # fmt: skip
# A bare encoder's own top-level modules, which gain the family's prefix.
_ENCODER_PREFIXES = ("embeddings.", "encoder.", "embeddings_project.")
BUFFER_SUFFIXES = ("position_ids", "token_type_ids")
# What a head's rows stand for, and the head, by its name (for `_copy_rows`'s error).
_ROW_NAMES = {
    "classifier": ("labels", "the classifier"),
    "sense_classifier": ("rolesets", "the sense head"),
}


def to_srl_names(state: Dict[str, torch.Tensor], prefix: str = "bert") -> Dict[str, torch.Tensor]:
    """
    Renames a checkpoint's weights to the SRL class's (`prefix` is the family's encoder name,
    `bert`, `roberta`, `deberta`, `electra` or `albert`): a bare encoder (`embeddings.*`) gains
    the prefix; the pooler, pre-training heads and index buffers are dropped; TF-era
    `gamma`/`beta` become `weight`/`bias`.
    """
    renamed = {}
    dropped = _DROPPED_PREFIXES + (f"{prefix}.pooler.",)
    for name, tensor in state.items():
        if name.startswith(dropped) or name.endswith(BUFFER_SUFFIXES):
            continue
        if name.startswith(_ENCODER_PREFIXES):
            name = f"{prefix}.{name}"
        name = name.replace("LayerNorm.gamma", "LayerNorm.weight")
        name = name.replace("LayerNorm.beta", "LayerNorm.bias")
        renamed[name] = tensor
    return renamed


def build_srl_model(
    config: PretrainedConfig,
    state: Dict[str, torch.Tensor],
    labels: Sequence[str],
    source: str,
    old_labels: Optional[Sequence[str]] = None,
    old_rolesets: Optional[Sequence[str]] = None,
) -> PreTrainedModel:
    """
    The family's SRL model (`BertForSemanticRoleLabeling`, `RobertaForSemanticRoleLabeling`, ...)
    with `labels`, its encoder (and any head it already had) taken from `state`.

    # Parameters

    config : `PretrainedConfig`
        The encoder's configuration; its label maps are replaced by `labels` and it gets the
        predicate marker's two token types (`with_predicate_marker`).
    state : `Dict[str, torch.Tensor]`
        Weights with SRL names (see `to_srl_names`).
    labels : `Sequence[str]`
        BIO tags in label-id order.
    source : `str`
        Where `state` came from, for error messages.
    old_labels : `Sequence[str]`, optional
        The tags that `state["classifier.*"]` rows stand for. Rows of tags found in both are
        copied to their new ids (fine-tuning an export on data with other labels); other rows start
        fresh. Without it, the classifier is kept only if it has exactly `len(labels)` rows.
    old_rolesets : `Sequence[str]`, optional
        The rolesets that `state["sense_classifier.*"]` rows stand for; the rows of rolesets
        that the config's `srl_rolesets` (the new sense head's) also lists are copied, the
        others start fresh. Without it, the sense head is kept only if it has exactly as many
        rows as the config lists rolesets.
    """
    set_labels(config, labels)
    model = srl_class(config, source)(with_predicate_marker(config))
    state = dict(state)
    classifier: Dict[str, torch.Tensor] = {
        k: state.pop(k) for k in ("classifier.weight", "classifier.bias") if k in state
    }
    senses: Dict[str, torch.Tensor] = {
        k: state.pop(k) for k in ("sense_classifier.weight", "sense_classifier.bias") if k in state
    }
    expected = model.state_dict()
    for name, tensor in state.items():
        if name in expected and expected[name].shape != tensor.shape:
            raise CheckpointError(
                f"{source}: weight {name} has shape {tuple(tensor.shape)} but the config "
                f"({config.num_hidden_layers} layers, hidden size {config.hidden_size}) needs "
                f"{tuple(expected[name].shape)}"
            )
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [
        name
        for name in missing
        if not name.startswith(
            (
                "classifier.",
                "predicate_classifier.",
                "sense_classifier.",
                "predicate_marker",
                "predicate_distance",
                "pair_projection.",
            )
        )
        and not name.endswith(BUFFER_SUFFIXES)
    ]
    if missing:
        raise CheckpointError(f"{source}: weights missing for {', '.join(sorted(missing)[:8])}")
    if unexpected:
        logger.warning("%s: ignoring weights %s", source, ", ".join(sorted(unexpected)[:8]))
    if classifier:
        _adopt_classifier_rows(model, classifier, labels, old_labels, source)
    if senses and model.sense_classifier is not None:
        _adopt_sense_rows(model, senses, old_rolesets, source)
    if model.predicate_fusion_layer and "predicate_marker" not in state:
        init_predicate_marker(model)
    return model


def _adopt_classifier_rows(
    model: PreTrainedModel,
    classifier: Dict[str, torch.Tensor],
    labels: Sequence[str],
    old_labels: Optional[Sequence[str]],
    source: str,
) -> None:
    rows = classifier["classifier.weight"].size(0)
    if old_labels is None:
        if rows != len(labels):
            logger.info(
                "%s: classifier has %d rows for %d labels; starting it fresh",
                source,
                rows,
                len(labels),
            )
            return
        old_labels = labels
    kept = _copy_rows(model, "classifier", classifier, old_labels, labels, source)
    logger.info("%s: kept the classifier rows of %d of %d labels", source, kept, len(labels))


def _adopt_sense_rows(
    model: PreTrainedModel,
    senses: Dict[str, torch.Tensor],
    old_rolesets: Optional[Sequence[str]],
    source: str,
) -> None:
    rolesets = model.rolesets
    weight, bias = senses.get("sense_classifier.weight"), senses.get("sense_classifier.bias")
    if weight is None or bias is None:
        raise CheckpointError(f"{source}: sense_classifier.weight or .bias without the other")
    if weight.size(1) != model.config.hidden_size:
        raise CheckpointError(
            f"{source}: sense_classifier.weight has shape {tuple(weight.shape)} but the config's "
            f"hidden size is {model.config.hidden_size}"
        )
    if old_rolesets is None:
        if weight.size(0) != len(rolesets):
            logger.info(
                "%s: sense head has %d rows for %d rolesets; starting it fresh",
                source,
                weight.size(0),
                len(rolesets),
            )
            return
        old_rolesets = rolesets
    kept = _copy_rows(model, "sense_classifier", senses, old_rolesets, rolesets, source)
    if kept < len(rolesets):
        logger.info("%s: kept the sense rows of %d of %d rolesets", source, kept, len(rolesets))


def _copy_rows(
    model: PreTrainedModel,
    head: str,
    old: Dict[str, torch.Tensor],
    old_names: Sequence[str],
    names: Sequence[str],
    source: str,
) -> int:
    """
    Copies the rows of `old[f"{head}.weight"]` and `old[f"{head}.bias"]`, which stand for
    `old_names`, into the model's `head` (`classifier` or `sense_classifier`), to the rows of the
    same names in `names`. Returns how many of `names` kept their row.
    """
    kind, described = _ROW_NAMES[head]
    rows = old[f"{head}.weight"].size(0)
    if len(old_names) != rows:
        raise CheckpointError(f"{source}: {len(old_names)} {kind} but {described} has {rows} rows")
    old_index = {name: i for i, name in enumerate(old_names)}
    module = getattr(model, head)
    with torch.no_grad():
        for new_id, name in enumerate(names):
            if name in old_index:
                module.weight[new_id] = old[f"{head}.weight"][old_index[name]]
                module.bias[new_id] = old[f"{head}.bias"][old_index[name]]
    return sum(name in old_index for name in names)


def build_exact(
    config: PretrainedConfig,
    state: Dict[str, torch.Tensor],
    labels: Sequence[str],
    weights_path: str,
    labels_path: str,
) -> PreTrainedModel:
    """
    The family's SRL model whose every weight comes from `state` (with SRL names), which
    may hold nothing else. The predicate head is built only when `state` has it.
    """
    classifier = state.get("classifier.weight")
    if classifier is None or "classifier.bias" not in state:
        raise CheckpointError(
            f"{weights_path}: no SRL classifier (classifier.weight): a plain BERT checkpoint "
            "must be fine-tuned first"
        )
    if classifier.size(0) != len(labels):
        raise CheckpointError(
            f"{labels_path} has {len(labels)} labels but the classifier in {weights_path} has "
            f"{classifier.size(0)} rows"
        )
    if tuple(classifier.shape) != (len(labels), config.hidden_size):
        raise CheckpointError(
            f"{weights_path}: classifier.weight has shape {tuple(classifier.shape)} but the "
            f"config's hidden size is {config.hidden_size}"
        )
    update_srl_settings(config, predicate_head="predicate_classifier.weight" in state)
    rolesets = config_rolesets(config)
    senses = state.get("sense_classifier.weight")
    if senses is not None and senses.size(0) != len(rolesets):
        raise CheckpointError(
            f"{labels_path} lists {len(rolesets)} rolesets (srl_rolesets) but the sense head in "
            f"{weights_path} has {senses.size(0)} rows"
        )
    if senses is None and rolesets:
        logger.warning(
            "%s lists rolesets but %s has no sense head: the model gives no senses",
            labels_path,
            weights_path,
        )
        set_rolesets(config, [])
    model = build_srl_model(config, state, labels, weights_path, old_rolesets=rolesets)
    unexpected = sorted(set(state) - set(model.state_dict()))
    if unexpected:
        raise CheckpointError(
            f"{weights_path}: weights that do not fit the config ({config.num_hidden_layers} "
            f"layers): {', '.join(unexpected[:8])}"
        )
    return model.eval()


def with_predicate_marker(config: PretrainedConfig) -> PretrainedConfig:
    """
    `config` with at least two token types, the predicate marker's. RoBERTa and XLM-R have one
    (`type_vocab_size=1`), DeBERTa-v3 none (0: DebertaV2Embeddings then adds no token-type
    embedding at all); BERT, ELECTRA and ALBERT already have two.
    """
    family(getattr(config, "model_type", None))
    if getattr(config, "type_vocab_size", 0) < 2:
        config.type_vocab_size = 2
    return config


def grow_token_type_embeddings(
    state: Dict[str, torch.Tensor], prefix: str, std: float, source: str = "the checkpoint"
) -> Dict[str, torch.Tensor]:
    """
    Gives a checkpoint's token-type embedding the two rows of `with_predicate_marker`. Row 0 is
    kept (zeros where the encoder had no token-type embedding, as in DeBERTa-v3), so unmarked
    words are encoded exactly as the pretrained checkpoint encodes them; the predicate row starts
    as a fresh N(0, `std`) row (the config's `initializer_range`), which learned faster on EWT
    than a copy of row 0 (README: "The predicate marker").
    """
    key = f"{prefix}.embeddings.token_type_embeddings.weight"
    rows = state.get(key)
    if rows is not None and rows.size(0) >= 2:
        return state
    state = dict(state)
    if rows is None:
        words = state.get(f"{prefix}.embeddings.word_embeddings.weight")
        if words is None:
            raise ValueError(f"{source}: no {prefix}.embeddings.word_embeddings.weight")
        rows = torch.zeros(1, words.size(1), dtype=words.dtype)
    # Drawn from torch's generator, which AllenNLP seeds (`random_seed`) before building models.
    new_rows = torch.randn(2 - rows.size(0), rows.size(1)).to(rows.dtype) * std
    state[key] = torch.cat([rows, new_rows])
    return state
