"""
Hugging Face SRL checkpoints: one reader and one writer of the export folder.

- `read_export` reads an export exactly as it was saved (every weight from the file, the
  predicate-identification head only if it was saved): what the labeler, the pipeline and the
  archive converters load.
- `load_pretrained_srl_model` starts a model for training from any checkpoint of a supported
  encoder family (`srl_plugin.hf.families`: a bare encoder, a `*For*` model, or an export), with
  fresh heads where needed (`srl_plugin.hf.checkpoints.building`).
- `write_export` writes the folder atomically (`atomic_directory`), readable as `save_pretrained`
  output is (the umask's modes, not the temporary folder's 0700).
"""

import logging
import os
import shutil
import tempfile
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple

import torch
import transformers
from transformers import PretrainedConfig, PreTrainedModel

from srl_plugin.hf.checkpoints.building import (
    BUFFER_SUFFIXES,
    build_exact,
    build_srl_model,
    grow_token_type_embeddings,
    to_srl_names,
)
from srl_plugin.hf.checkpoints.tokenizer_files import write_tokenizer_files
from srl_plugin.hf.checkpoints.weights import (
    PYTORCH_FILE,
    SAFETENSORS_FILE,
    CheckpointError,
    current_umask,
    read_weights,
    weights_file,
    write_safetensors,
)
from srl_plugin.hf.config import (
    CONFIG_FILE,
    FileReader,
    SrlSettings,
    config_json,
    config_labels,
    config_rolesets,
    folder_files,
    set_rolesets,
    set_srl_settings,
)
from srl_plugin.hf.families import family
from srl_plugin.hf.frames import config_max_wordpieces
from srl_plugin.hf.tokenization import Aligner, aligner_from_pretrained

logger = logging.getLogger(__name__)


def load_pretrained_srl_model(
    directory: str,
    labels: Optional[Sequence[str]] = None,
    settings: SrlSettings = SrlSettings(),
    rolesets: Optional[Sequence[str]] = None,
) -> PreTrainedModel:
    """
    Any checkpoint folder of a supported family (a bare encoder such as `RobertaModel`, a
    `*For*` model, or an export of this plugin) as the family's SRL model, with `labels`
    (default: the checkpoint's own `id2label`) and SRL `settings` (default `SrlBert`'s), to
    start training from. An encoder with fewer than two token types gets the predicate marker's
    second row (`grow_token_type_embeddings`); the heads, fused predicate marker, offset
    embeddings and pair head that the checkpoint lacks start fresh. `rolesets` are the sense
    head's rows (`[]`: no sense head; default: the checkpoint's own `srl_rolesets`, if any);
    rows of rolesets that the checkpoint's sense head already has keep their weights.
    """
    if not os.path.isfile(os.path.join(directory, CONFIG_FILE)):
        raise CheckpointError(
            f"{directory} is not a Hugging Face checkpoint folder (no {CONFIG_FILE})"
        )
    config = read_encoder_config(directory, directory)
    return pretrained_srl_model(
        config, read_weights(directory), directory, labels, settings, rolesets
    )


def pretrained_srl_model(
    config: PretrainedConfig,
    weights: Dict[str, torch.Tensor],
    source: str,
    labels: Optional[Sequence[str]] = None,
    settings: SrlSettings = SrlSettings(),
    rolesets: Optional[Sequence[str]] = None,
) -> PreTrainedModel:
    """
    `load_pretrained_srl_model` of a checkpoint already read (e.g. an AllenNLP archive read in
    memory): its `config` (changed here) and `weights`; `source` names it in errors.
    """
    set_srl_settings(config, settings)
    old_rolesets = config_rolesets(config)
    if rolesets is not None:
        set_rolesets(config, rolesets)
    old_labels = config_labels(config)
    if labels is None:
        labels = old_labels
    has_srl_labels = any(label.startswith("B-") for label in old_labels)
    prefix = family(config.model_type).prefix
    state = to_srl_names(weights, prefix)
    state = grow_token_type_embeddings(state, prefix, config.initializer_range, source)
    return build_srl_model(
        config,
        state,
        labels,
        source,
        old_labels=old_labels if has_srl_labels else None,
        old_rolesets=old_rolesets or None,
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


def write_export(
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
        if not name.endswith(BUFFER_SUFFIXES)
    }
    with atomic_directory(directory, overwrite=overwrite) as staging:
        model.config.architectures = [type(model).__name__]
        model.config.save_pretrained(staging)
        write_safetensors(state, os.path.join(staging, SAFETENSORS_FILE))
        if pytorch_bin:
            torch.save(state, os.path.join(staging, PYTORCH_FILE))
        write_tokenizer_files(aligner, staging, config_max_wordpieces(model.config))
        with open(os.path.join(staging, "README.md"), "w", encoding="utf-8") as card:
            card.write(model_card)
    return os.path.abspath(directory)


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
    model = build_exact(config, state, config_labels(config), path, config_path)
    return model, read_aligner(directory)


def read_encoder_config(path: str, shown: str) -> PretrainedConfig:
    """
    The configuration of a checkpoint folder or of a `config.json` file, as its family's config
    class (read by `srl_plugin.hf.config.config_json`: no `model_type` is BERT); `shown` names it
    in errors. An unsupported family is a `CheckpointError` naming its `model_type`.
    """
    if not os.path.exists(path):
        raise CheckpointError(f"{shown}: unreadable config {path}: no such file or folder")
    # A config file is read as the config.json of a folder holding only it.
    read = folder_files(path) if os.path.isdir(path) else _only_file(path, CONFIG_FILE)
    try:
        values = config_json(read, path)
    except (OSError, ValueError) as error:  # it names the file
        raise CheckpointError(str(error)) from None
    if values is None:
        raise CheckpointError(f"{shown}: no {CONFIG_FILE} in {path}")
    config = encoder_config_from_dict(values, f"{shown}: {path}" if path != shown else shown)
    return config


def _only_file(path: str, name: str) -> FileReader:
    def read(wanted: str) -> Optional[bytes]:
        if wanted != name:
            return None
        with open(path, "rb") as single_file:
            return single_file.read()

    return read


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
