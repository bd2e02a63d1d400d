"""
What an `hf_srl` model or reader is built from (`BaseCheckpoint`: a checkpoint's encoder config,
tokenizer and weights, read): the export inside the archive being loaded, else `bert_model`, a
Hugging Face checkpoint folder or an AllenNLP SRL archive to fine-tune.

Nothing here writes a file, so a process killed while it resolves a checkpoint, or at any time
after, leaves nothing in the temporary folder (SIGKILL runs no `atexit` handler and no `finally`:
a temporary folder removed "at exit" stays):

- An AllenNLP archive given as `bert_model` is read in memory (`archive_checkpoint`). Its config
  and tokenizer are kept for the process, as the readers and the model all resolve it; its
  weights are read again by the one model that starts from them rather than held through
  training.
- `load_srl_archive`, which has read its archive in memory, builds the archive's readers and model
  within `loading_checkpoint`: they resolve to that archive, as those that AllenNLP's
  `load_archive` builds resolve to the export inside the folder it extracted (`embedded_export`).
"""

import copy
import logging
import os
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, Optional, Sequence, Tuple

import torch
from transformers import PretrainedConfig, PreTrainedModel

from srl_plugin.archives.files import CONFIG_FILE, DEFAULT_EXPORT_DIR, is_allennlp_archive
from srl_plugin.hf.checkpoints.export import (
    pretrained_srl_model,
    read_aligner,
    read_encoder_config,
)
from srl_plugin.hf.checkpoints.weights import CheckpointError, read_weights
from srl_plugin.hf.config import SrlSettings
from srl_plugin.hf.tokenization import Aligner

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BaseCheckpoint:
    """
    A checkpoint that an `hf_srl` model or reader is built from, read.

    # Parameters

    config : `PretrainedConfig`
        Its configuration, as its family's config class (an SRL checkpoint's `id2label` holds
        its tags). Shared by all that resolve the checkpoint: `encoder_config` gives a copy.
    aligner : `Aligner`
        Its tokenizer.
    source : `str`
        The folder or archive it was read from, for messages.
    read_weights : `Callable[[], Dict[str, torch.Tensor]]`
        Reads its weights; only a model that starts from them needs them.
    """

    config: PretrainedConfig
    aligner: Aligner
    source: str
    read_weights: Callable[[], Dict[str, torch.Tensor]]

    def encoder_config(self) -> PretrainedConfig:
        """A copy of `config`, to change."""
        return copy.deepcopy(self.config)

    def srl_model(
        self,
        labels: Optional[Sequence[str]] = None,
        settings: SrlSettings = SrlSettings(),
        rolesets: Optional[Sequence[str]] = None,
    ) -> PreTrainedModel:
        """
        The family's SRL model with these weights, to train (see `pretrained_srl_model`):
        `rolesets` are its sense head's rows (`[]`: none; default the checkpoint's own).
        """
        return pretrained_srl_model(
            self.encoder_config(), self.read_weights(), self.source, labels, settings, rolesets
        )


# The archive that `load_srl_archive` is building readers and a model from, in this context.
_LOADING: ContextVar[Optional[BaseCheckpoint]] = ContextVar("srl_loading", default=None)
# AllenNLP archives given as `bert_model`, by path, modification time and size.
_ARCHIVES: Dict[Tuple[str, float, int], BaseCheckpoint] = {}


@contextmanager
def loading_checkpoint(checkpoint: BaseCheckpoint) -> Iterator[None]:
    """Within the block, `resolve_checkpoint` gives `checkpoint`, whatever `bert_model` is."""
    token = _LOADING.set(checkpoint)
    try:
        yield
    finally:
        _LOADING.reset(token)


def embedded_export(serialization_dir: Optional[str]) -> Optional[str]:
    """The Hugging Face export inside a serialization folder or unpacked archive, if any."""
    if not serialization_dir:
        return None
    candidate = os.path.join(serialization_dir, DEFAULT_EXPORT_DIR)
    if os.path.isfile(os.path.join(candidate, CONFIG_FILE)):
        return candidate
    return None


def resolve_checkpoint(bert_model: str, serialization_dir: Optional[str] = None) -> BaseCheckpoint:
    """
    The checkpoint to build an `hf_srl` model or reader from: the archive being loaded (see
    `loading_checkpoint`) or the export inside it (`serialization_dir`), so that archives stay
    usable after `bert_model` is deleted; else `bert_model`, a Hugging Face checkpoint folder or
    an AllenNLP SRL archive to fine-tune.
    """
    loading = _LOADING.get()
    if loading is not None:
        return loading
    export = embedded_export(serialization_dir)
    if export is not None:
        return folder_checkpoint(export)
    if is_allennlp_archive(bert_model):
        return archive_checkpoint(bert_model)
    if not os.path.isdir(bert_model):
        raise FileNotFoundError(
            f"bert_model {bert_model!r} is not a folder: give a local Hugging Face checkpoint "
            "(config.json, weights, vocab.txt) or an SRL model.tar.gz; models cannot be "
            "downloaded by name here"
        )
    return folder_checkpoint(bert_model)


def folder_checkpoint(folder: str) -> BaseCheckpoint:
    """
    A Hugging Face checkpoint folder of a supported family; an unsupported one (GPT-2, T5, ...)
    is a `ValueError` naming its `model_type`.
    """
    if not os.path.isfile(os.path.join(folder, CONFIG_FILE)):
        raise CheckpointError(
            f"{folder} is not a Hugging Face checkpoint folder (no {CONFIG_FILE})"
        )
    config = read_encoder_config(folder, folder)
    return BaseCheckpoint(config, read_aligner(folder), folder, lambda: read_weights(folder))


def archive_checkpoint(archive: str) -> BaseCheckpoint:
    """
    An AllenNLP SRL archive (see `read_srl_checkpoint`), read in memory once per process and
    version of the file.
    """
    # archive.py builds readers and models, which resolve through this module.
    from srl_plugin.archives.archive import read_srl_checkpoint

    stat = os.stat(archive)
    key = (os.path.abspath(archive), stat.st_mtime, stat.st_size)
    if key not in _ARCHIVES:
        checkpoint = read_srl_checkpoint(archive)
        _ARCHIVES[key] = BaseCheckpoint(
            checkpoint.model.config,
            checkpoint.aligner,
            archive,
            lambda: read_srl_checkpoint(archive).model.state_dict(),
        )
        logger.info("read %s in memory to start from it", archive)
    return _ARCHIVES[key]
