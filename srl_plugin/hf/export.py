"""
Hugging Face SRL checkpoints: one reader and one writer of the export folder.

- `read_export` reads an export exactly as it was saved (every weight from the file, the
  predicate-identification head only if it was saved): what the labeler, the pipeline and the
  archive converters load.
- `load_pretrained_srl_model` starts a model for training from any checkpoint of a supported
  encoder family (`srl_plugin.hf.families`: a bare encoder, a `*For*` model, or an export), with
  fresh heads where needed.
- `save_export` writes the folder atomically (`atomic_directory`), readable as `save_pretrained`
  output is (the umask's modes, not the temporary folder's 0700).
"""

import json
import logging
import os
import shutil
import tempfile
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import transformers
from transformers import PretrainedConfig, PreTrainedModel

from srl_plugin.hf.families import family, read_family
from srl_plugin.hf.frames import config_max_wordpieces
from srl_plugin.hf.fusion import DEFAULT_DISTANCE_RADIUS, set_predicate_fusion
from srl_plugin.hf.modeling import grow_token_type_embeddings, srl_class, with_predicate_marker
from srl_plugin.hf.tokenization import Aligner, aligner_from_pretrained
from srl_plugin.hf.weights import (
    PYTORCH_FILE,
    SAFETENSORS_FILE,
    CheckpointError,
    current_umask,
    read_weights,
    weights_file,
    write_safetensors,
)

logger = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
# Checkpoint keys that are not weights of the SRL model: poolers and pre-training heads.
_DROPPED_PREFIXES = (
    "pooler.", "cls.", "lm_head.", "lm_predictions.", "mask_predictions.", "predictions.",
    "discriminator_predictions.", "generator_predictions.", "generator_lm_head.", "sop_classifier.",
)  # fmt: skip
# A bare encoder's own top-level modules, which gain the family's prefix.
_ENCODER_PREFIXES = ("embeddings.", "encoder.", "embeddings_project.")
_BUFFER_SUFFIXES = ("position_ids", "token_type_ids")


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
        if name.startswith(dropped) or name.endswith(_BUFFER_SUFFIXES):
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
    """
    config.id2label = {i: label for i, label in enumerate(labels)}
    config.label2id = {label: i for i, label in enumerate(labels)}
    model = srl_class(config, source)(with_predicate_marker(config))
    state = dict(state)
    classifier: Dict[str, torch.Tensor] = {
        k: state.pop(k) for k in ("classifier.weight", "classifier.bias") if k in state
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
                "predicate_marker",
                "predicate_distance",
                "pair_projection.",
            )
        )
        and not name.endswith(_BUFFER_SUFFIXES)
    ]
    if missing:
        raise CheckpointError(f"{source}: weights missing for {', '.join(sorted(missing)[:8])}")
    if unexpected:
        logger.warning("%s: ignoring weights %s", source, ", ".join(sorted(unexpected)[:8]))
    if classifier:
        _adopt_classifier_rows(model, classifier, labels, old_labels, source)
    if model.predicate_fusion_layer and "predicate_marker" not in state:
        model.init_predicate_marker()
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
    if len(old_labels) != rows:
        raise CheckpointError(
            f"{source}: {len(old_labels)} labels but the classifier has {rows} rows"
        )
    old_index = {label: i for i, label in enumerate(old_labels)}
    with torch.no_grad():
        for new_id, label in enumerate(labels):
            if label in old_index:
                model.classifier.weight[new_id] = classifier["classifier.weight"][old_index[label]]
                model.classifier.bias[new_id] = classifier["classifier.bias"][old_index[label]]
    kept = sum(label in old_index for label in labels)
    logger.info("%s: kept the classifier rows of %d of %d labels", source, kept, len(labels))


def load_pretrained_srl_model(
    directory: str,
    labels: Optional[Sequence[str]] = None,
    predicate_head: bool = True,
    predicate_fusion_layer: int = 0,
    predicate_distance_radius: int = DEFAULT_DISTANCE_RADIUS,
    predicate_pair_head: Optional[bool] = None,
) -> PreTrainedModel:
    """
    Any checkpoint folder of a supported family (a bare encoder such as `RobertaModel`, a
    `*For*` model, or an export of this plugin) as the family's SRL model, with `labels`
    (default: the checkpoint's own `id2label`), to start training from. An encoder with fewer
    than two token types gets the predicate marker's second row (`grow_token_type_embeddings`);
    heads and the fused predicate marker and offset embeddings (`predicate_fusion_layer > 0`,
    `predicate_distance_radius`) and the pair head (`predicate_pair_head`) that the checkpoint
    lacks start fresh.
    """
    if not os.path.isfile(os.path.join(directory, CONFIG_FILE)):
        raise CheckpointError(
            f"{directory} is not a Hugging Face checkpoint folder (no {CONFIG_FILE})"
        )
    config = read_encoder_config(directory, directory)
    config.srl_predicate_head = predicate_head
    set_predicate_fusion(
        config, predicate_fusion_layer, predicate_distance_radius, predicate_pair_head
    )
    old_labels = [config.id2label[i] for i in range(len(config.id2label))]
    if labels is None:
        labels = old_labels
    has_srl_labels = any(label.startswith("B-") for label in old_labels)
    prefix = family(config.model_type).prefix
    state = to_srl_names(read_weights(directory), prefix)
    state = grow_token_type_embeddings(state, prefix, config.initializer_range, directory)
    return build_srl_model(
        config, state, labels, directory, old_labels=old_labels if has_srl_labels else None
    )


@contextmanager
def atomic_directory(target: str, overwrite: bool = True) -> Iterator[str]:
    """
    Yields an empty temporary folder beside `target` and renames it to `target` when the block
    ends without error. A failure leaves `target` as it was; no half-written folder is ever there.
    """
    target = os.path.abspath(target)
    if os.path.exists(target) and not overwrite:
        raise FileExistsError(f"{target} already exists (use --force to replace it)")
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix="." + os.path.basename(target) + ".", dir=parent)
    try:
        yield staging
        # mkdtemp's folder is 0700; the finished one gets the modes os.makedirs would give it.
        os.chmod(staging, 0o777 & ~current_umask())
        if os.path.exists(target):
            previous = staging + ".old"
            os.rename(target, previous)
            os.rename(staging, target)
            shutil.rmtree(previous, ignore_errors=True)
        else:
            os.rename(staging, target)
    finally:
        if os.path.exists(staging):
            shutil.rmtree(staging, ignore_errors=True)


def save_export(
    model: PreTrainedModel,
    aligner: Aligner,
    directory: str,
    model_card: str,
    overwrite: bool = True,
    pytorch_bin: bool = False,
) -> str:
    """
    Writes a Hugging Face export atomically: `config.json` (with `id2label`), the weights as
    `model.safetensors` (no pickle), tokenizer files and the `README.md` model card. Returns the
    folder.

    `pytorch_bin=True` also writes the same weights as `pytorch_model.bin`, for old transformers
    (4.20, the AllenNLP one) whose `from_pretrained` reads nothing else (a torch pickle: written
    only where asked).
    """
    state = {
        name: tensor.detach().cpu().contiguous()
        for name, tensor in model.state_dict().items()
        if not name.endswith(_BUFFER_SUFFIXES)
    }
    with atomic_directory(directory, overwrite=overwrite) as staging:
        model.config.architectures = [type(model).__name__]
        model.config.save_pretrained(staging)
        write_safetensors(state, os.path.join(staging, SAFETENSORS_FILE))
        if pytorch_bin:
            torch.save(state, os.path.join(staging, PYTORCH_FILE))
        aligner.save_pretrained(staging, model_max_length=config_max_wordpieces(model.config))
        with open(os.path.join(staging, "README.md"), "w", encoding="utf-8") as card:
            card.write(model_card)
    return os.path.abspath(directory)


def checkpoint_labels(directory: str) -> List[str]:
    """The BIO tags of an export, in id order."""
    config = read_encoder_config(directory, directory)
    return [config.id2label[i] for i in range(len(config.id2label))]


def read_export(directory: str) -> Tuple[PreTrainedModel, Aligner]:
    """
    An export folder exactly as it was saved: every weight of the model comes from its weights
    file and nothing else may be in it; the predicate-identification head exists only if its
    weights were saved.

    # Raises

    `CheckpointError` naming the file that is missing, unreadable or does not fit.
    """
    config_path = os.path.join(directory, CONFIG_FILE)
    if not os.path.isfile(config_path):
        raise CheckpointError(
            f"{directory}: not an AllenNLP archive or Hugging Face export (no {CONFIG_FILE})"
        )
    config = read_encoder_config(directory, directory)
    path = weights_file(directory)
    state = to_srl_names(read_weights(path), family(config.model_type).prefix)
    labels = [config.id2label[i] for i in range(len(config.id2label))]
    model = build_exact(config, state, labels, path, config_path)
    return model, read_aligner(directory)


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
    config.srl_predicate_head = "predicate_classifier.weight" in state
    model = build_srl_model(config, state, labels, weights_path)
    unexpected = sorted(set(state) - set(model.state_dict()))
    if unexpected:
        raise CheckpointError(
            f"{weights_path}: weights that do not fit the config ({config.num_hidden_layers} "
            f"layers): {', '.join(unexpected[:8])}"
        )
    return model.eval()


def read_encoder_config(path: str, shown: str) -> PretrainedConfig:
    """
    The configuration of a checkpoint folder or of a `config.json` file, as its family's config
    class (a `config.json` without `model_type`, as Google's BERT checkpoints have, is BERT's);
    `shown` names it in errors. An unsupported family is a `ValueError` naming its `model_type`.
    """
    if not os.path.exists(path):
        raise CheckpointError(f"{shown}: unreadable config {path}: no such file or folder")
    if os.path.isfile(path):
        try:
            with open(path, encoding="utf-8") as config_file:
                values = json.load(config_file)
        except (OSError, ValueError) as error:
            raise CheckpointError(f"{shown}: unreadable config {path}: {error}") from None
        return encoder_config_from_dict(values, f"{shown}: {path}")
    try:
        config_class = getattr(transformers, read_family(path).config)
    except ValueError as error:
        raise CheckpointError(str(error)) from None
    try:
        return config_class.from_pretrained(path)
    except (OSError, ValueError) as error:
        raise CheckpointError(f"{shown}: unreadable config {path}: {error}") from None


def encoder_config_from_dict(values: Dict[str, Any], shown: str) -> PretrainedConfig:
    """`read_encoder_config` of a `config.json` already read (e.g. from an archive in memory)."""
    try:
        config_class = getattr(transformers, family(values.get("model_type", "bert"), shown).config)
    except ValueError as error:
        raise CheckpointError(str(error)) from None
    try:
        return config_class.from_dict(values)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{shown}: unreadable config: {error}") from None


def read_aligner(folder: str) -> Aligner:
    """The tokenizer of a checkpoint folder, with errors naming the folder."""
    try:
        return aligner_from_pretrained(folder)
    except (OSError, ValueError) as error:
        raise CheckpointError(f"{folder}: unreadable tokenizer: {error}") from None
