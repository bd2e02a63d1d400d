"""
Our archive reader and writer: any SRL model (an archive of this plugin, an archive of
allennlp-models' `srl_bert`, or a Hugging Face export folder) becomes an `SrlCheckpoint` (the
family's SRL model, its tokenizer and an `hf_srl` experiment config), which
`load_srl_archive` turns into an AllenNLP `Archive` and `export_checkpoint` / `write_archive` (the
`srl-export` / `srl-import` commands) write out.

Archives are untrusted input. Unlike AllenNLP's `load_archive`, nothing here runs pickled code
(weights are read tensors-only), imports code a config names, or writes a tar member to disk:
archives are read in memory (see `ArchiveFiles`).
"""

import copy
import json
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple, Union

import torch
from allennlp.common import Params
from allennlp.common.meta import META_NAME, Meta
from allennlp.common.params import parse_overrides, with_overrides
from allennlp.data import DatasetReader, Vocabulary
from allennlp.models import Model
from allennlp.models.archival import Archive
from transformers import PretrainedConfig, PreTrainedModel

from srl_plugin.archives.files import (
    CONFIG_FILE,
    DEFAULT_EXPORT_DIR,
    LABELS_NAMESPACE,
    METRICS_FILE,
    ROLESETS_NAMESPACE,
    VOCABULARY_DIR,
    WEIGHTS_NAME,
    ArchiveFiles,
    is_allennlp_archive,
)
from srl_plugin.archives.resolution import BaseCheckpoint, loading_checkpoint
from srl_plugin.archives.srl_bert import DEFAULT_DATA_LOADER, read_srl_bert_archive
from srl_plugin.hf.checkpoints.building import build_exact
from srl_plugin.hf.checkpoints.export import (
    encoder_config_from_dict,
    read_aligner,
    read_encoder_config,
    read_export,
    write_export,
)
from srl_plugin.hf.config import (
    DEFAULT_DISTANCE_RADIUS,
    SrlSettings,
    set_rolesets,
    set_srl_settings,
    srl_settings,
)
from srl_plugin.hf.checkpoints.model_card import (
    model_architecture,
    predicate_head_status,
    render_model_card,
)
from srl_plugin.hf.tokenization import Aligner, aligner_from_files
from srl_plugin.hf.checkpoints.weights import CheckpointError


@dataclass
class SrlCheckpoint:
    """
    An SRL model read from any source, ready to be written as an export or an archive.

    # Parameters

    model : `PreTrainedModel`
        Every weight taken from the source; `config.id2label` holds the BIO tags.
    aligner : `Aligner`
        Splits words into wordpieces as the source's reader did.
    experiment : `Dict[str, Any]`
        An AllenNLP experiment config with an `hf_srl` model and reader (the archive's own config
        for archives of this plugin).
    base_checkpoint : `str`
        What the model was fine-tuned from, for the model card.
    metrics : `Dict[str, Any]`
        `best_validation_*` metrics when the source is a serialization folder with `metrics.json`.
    """

    model: PreTrainedModel  # the family's SRL class (`BertForSemanticRoleLabeling`, ...)
    aligner: Aligner
    experiment: Dict[str, Any]
    base_checkpoint: str
    metrics: Dict[str, Any] = field(default_factory=dict)


def read_srl_checkpoint(
    path: str,
    tokenizer: Optional[str] = None,
    bert_config: Optional[str] = None,
    lowercase: Optional[bool] = None,
) -> SrlCheckpoint:
    """
    Reads any SRL model: an archive of this plugin, an archive of allennlp-models' `srl_bert`
    (a `model.tar.gz` or its unpacked folder) or a Hugging Face export folder.

    The options matter only for `srl_bert` archives whose `bert_model` is a name or a path that is
    no longer there, as such archives hold neither the WordPiece vocabulary nor the BERT config.

    # Parameters

    tokenizer : `str`, optional
        A folder with the WordPiece vocabulary (`vocab.txt`) of the archive's BERT. By default
        the reader's `bert_model_name` folder, else the Hugging Face cache.
    bert_config : `str`, optional
        A BERT `config.json` (or its folder). By default `bert_model` itself when it is a config
        or a folder, else the Hugging Face cache, else a config inferred from the weights' shapes
        with 64-wide attention heads (as every BERT published by Google has).
    lowercase : `bool`, optional
        Lowercase words before WordPiece. By default as allennlp-models' reader did: when its
        `bert_model_name` contains `uncased`.
    """
    files = ArchiveFiles(path)
    if os.path.isdir(path) and files.weights_name() is None:
        return _read_export(path)
    config = files.json(CONFIG_FILE)
    _refuse_code_references(config, files.shown(CONFIG_FILE))
    model_type = (config.get("model") or {}).get("type")
    if model_type == "hf_srl":
        checkpoint = _read_own_archive(files, config)
    elif model_type == "srl_bert":
        model, aligner, experiment, base = read_srl_bert_archive(
            files, config, tokenizer, bert_config, lowercase
        )
        checkpoint = SrlCheckpoint(model, aligner, experiment, base)
    else:
        raise CheckpointError(
            f"{path}: model type {model_type!r} is neither this plugin's hf_srl nor "
            "allennlp-models' srl_bert"
        )
    if METRICS_FILE in files:
        metrics = files.json(METRICS_FILE)
        checkpoint.metrics = {k: v for k, v in metrics.items() if k.startswith("best_validation_")}
    return checkpoint


def _refuse_code_references(value: Any, shown: str) -> None:
    # AllenNLP imports whatever a dotted "type" names (`"type": "os.system"` calls it) and loads
    # "_pretrained" archives with plain torch.load: an untrusted config may use neither.
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "_pretrained":
                raise CheckpointError(f"{shown}: refusing '_pretrained': it loads another archive")
            if key == "type" and isinstance(item, str) and "." in item:
                raise CheckpointError(
                    f"{shown}: refusing type {item!r}: an archive may name registered classes, "
                    "not code to import"
                )
            _refuse_code_references(item, shown)
    elif isinstance(value, list):
        for item in value:
            _refuse_code_references(item, shown)


def _read_export(path: str) -> SrlCheckpoint:
    model, aligner = read_export(path)
    predicate_head = model.predicate_classifier is not None
    export = os.path.abspath(path)
    experiment = {
        "dataset_reader": {
            "type": "hf_srl",
            "bert_model": export,
            "predicate_instances": predicate_head,
        },
        "model": {
            "type": "hf_srl",
            "bert_model": export,
            "predicate_head": predicate_head,
            **srl_settings(model.config).model_options(),
        },
        "data_loader": DEFAULT_DATA_LOADER,
    }
    return SrlCheckpoint(model, aligner, experiment, base_checkpoint=export)


def _read_own_archive(files: ArchiveFiles, config: Dict[str, Any]) -> SrlCheckpoint:
    bert_model = config["model"].get("bert_model", "")
    if f"{DEFAULT_EXPORT_DIR}/{CONFIG_FILE}" in files:
        bert_config, aligner = _embedded_export(files)
    elif isinstance(bert_model, str) and os.path.exists(bert_model):
        bert_config, aligner = _base_checkpoint(bert_model, files.path)
        # The base checkpoint's config knows nothing of the options the archive was trained
        # with (a fused model's marker, offsets and pair head): the archive's config does.
        options = config["model"]
        set_srl_settings(
            bert_config,
            SrlSettings.options(
                options.get("predicate_head", True),
                options.get("predicate_fusion_layer", 0),
                options.get("predicate_distance_radius", DEFAULT_DISTANCE_RADIUS),
                options.get("predicate_pair_head"),
            ),
        )
    else:
        raise CheckpointError(
            f"{files.path}: holds no {DEFAULT_EXPORT_DIR}/ export and its bert_model "
            f"{bert_model!r} is not there: the tokenizer and BERT config cannot be found"
        )
    state, weights = files.weights()
    labels, labels_file = files.labels()
    # The sense head's rows are the archive's rolesets, whatever the export inside says (none
    # for a model trained with `sense_head: false` on data with rolesets).
    sense_head = config["model"].get("sense_head") is not False
    set_rolesets(bert_config, files.rolesets() if sense_head else [])
    model = build_exact(bert_config, state, labels, weights, labels_file)
    return SrlCheckpoint(model, aligner, config, base_checkpoint=str(bert_model))


def _embedded_export(files: ArchiveFiles) -> Tuple[PretrainedConfig, Aligner]:
    # The encoder config and tokenizer of the export inside an archive of this plugin, read
    # from memory by the same code that reads an export folder.
    config_name = f"{DEFAULT_EXPORT_DIR}/{CONFIG_FILE}"
    config = encoder_config_from_dict(files.json(config_name), files.shown(config_name))
    try:
        aligner = aligner_from_files(
            lambda name: files.read(f"{DEFAULT_EXPORT_DIR}/{name}"),
            files.shown(DEFAULT_EXPORT_DIR),
        )
    except ValueError as error:
        raise CheckpointError(f"{files.shown(DEFAULT_EXPORT_DIR)}: unreadable tokenizer: {error}")
    return config, aligner


def _base_checkpoint(bert_model: str, shown: str) -> Tuple[PretrainedConfig, Aligner]:
    # The config and tokenizer of what an archive without an export was fine-tuned from.
    if is_allennlp_archive(bert_model):
        base = read_srl_checkpoint(bert_model)
        return copy.deepcopy(base.model.config), base.aligner
    return read_encoder_config(bert_model, shown), read_aligner(bert_model)


def export_checkpoint(
    checkpoint: SrlCheckpoint, directory: str, overwrite: bool = True, pytorch_bin: bool = False
) -> str:
    """
    Writes the Hugging Face export that the `hf_export` training callback writes, atomically
    (`pytorch_bin`: also `pytorch_model.bin`). Returns the folder.
    """
    card = render_model_card(
        base_checkpoint=checkpoint.base_checkpoint,
        labels=checkpoint.model.labels,
        train_data=checkpoint.experiment.get("train_data_path"),
        validation_data=checkpoint.experiment.get("validation_data_path"),
        metrics=checkpoint.metrics,
        predicate_head=predicate_head_status(checkpoint.model),
        **model_architecture(checkpoint.model),
        pytorch_bin=pytorch_bin,
    )
    return write_export(
        checkpoint.model,
        checkpoint.aligner,
        directory,
        card,
        overwrite=overwrite,
        pytorch_bin=pytorch_bin,
    )


def _labels_vocabulary(labels: List[str], rolesets: List[str]) -> Vocabulary:
    # An archive's vocabulary: the BIO tags and the sense head's rolesets (if any), in id order.
    namespaces = [LABELS_NAMESPACE] + ([ROLESETS_NAMESPACE] if rolesets else [])
    vocab = Vocabulary(non_padded_namespaces=namespaces)
    vocab.add_tokens_to_namespace(labels, LABELS_NAMESPACE)
    if rolesets:
        vocab.add_tokens_to_namespace(rolesets, ROLESETS_NAMESPACE)
    return vocab


def _write_serialization_dir(checkpoint: SrlCheckpoint, folder: str, weights: bool = True) -> None:
    # The layout of an AllenNLP archive of an hf_srl model, with the export inside.
    export_checkpoint(checkpoint, os.path.join(folder, DEFAULT_EXPORT_DIR))
    with open(os.path.join(folder, CONFIG_FILE), "w", encoding="utf-8") as config_file:
        json.dump(checkpoint.experiment, config_file, indent=2)
    vocab = _labels_vocabulary(checkpoint.model.labels, checkpoint.model.rolesets)
    vocab.save_to_files(os.path.join(folder, VOCABULARY_DIR))
    if weights:
        state = {k: v.detach().cpu().contiguous() for k, v in checkpoint.model.state_dict().items()}
        torch.save(state, os.path.join(folder, WEIGHTS_NAME))
    Meta.new().to_file(os.path.join(folder, META_NAME))


def write_archive(checkpoint: SrlCheckpoint, archive: str, overwrite: bool = False) -> str:
    """
    Writes an AllenNLP `model.tar.gz` of an `hf_srl` model (config, weights, labels vocabulary and
    the Hugging Face export under `hf_model/`), through a temporary file in the same folder
    renamed into place, with the modes `open` would give it (the umask's). Returns its path.
    """
    archive = os.path.abspath(archive)
    if os.path.isdir(archive):
        raise CheckpointError(f"{archive} is a folder; give the archive's file name")
    if os.path.exists(archive) and not overwrite:
        raise FileExistsError(f"{archive} already exists (use --force to replace it)")
    parent = os.path.dirname(archive)
    os.makedirs(parent, exist_ok=True)
    # Staged beside the archive, not in the temporary folder, which a killed run would litter.
    staging = tempfile.mkdtemp(prefix="." + os.path.basename(archive) + ".", dir=parent)
    partial = os.path.join(staging, os.path.basename(archive))
    try:
        files = os.path.join(staging, "files")
        _write_serialization_dir(checkpoint, files)
        # os.open with 0o666, as open() does: the umask decides (mkstemp's file would be 0600).
        handle = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(handle, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            for name in sorted(os.listdir(files)):
                tar.add(os.path.join(files, name), arcname=name)
        os.replace(partial, archive)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return archive


def load_srl_archive(
    path: str,
    cuda_device: int = -1,
    overrides: Union[str, Dict[str, Any], None] = None,
    tokenizer: Optional[str] = None,
    bert_config: Optional[str] = None,
    lowercase: Optional[bool] = None,
) -> Archive:
    """
    Any SRL model (see `read_srl_checkpoint`, which takes the last three arguments) as an AllenNLP
    `Archive` of an `hf_srl` model with its dataset readers, for `Predictor.from_archive`. Unlike
    AllenNLP's `load_archive`, safe on untrusted archives.

    # Parameters

    path : `str`
        A `model.tar.gz` (of this plugin or of allennlp-models' `srl_bert`), its unpacked folder,
        or a Hugging Face export folder.
    cuda_device : `int`, optional (default = `-1`)
        The GPU to put the model on; -1 for the CPU.
    overrides : `Union[str, Dict[str, Any]]`, optional
        JSON overrides of the archive's config, as in `load_archive`.

    Nothing is written to disk, not even to the temporary folder, which a killed process would
    leave littered: the readers and the model are built from the archive read in memory (see
    `srl_plugin.archives.resolution.loading_checkpoint`).
    """
    checkpoint = read_srl_checkpoint(path, tokenizer, bert_config, lowercase)
    # What `Params.from_file` does to a config file, to the config read in memory.
    overrides_dict = parse_overrides(
        json.dumps(overrides) if isinstance(overrides, dict) else overrides or ""
    )
    experiment = json.loads(json.dumps(checkpoint.experiment))
    config = Params(with_overrides(experiment, overrides_dict) if overrides_dict else experiment)
    model_params = config.get("model").duplicate()
    model_params["load_weights"] = False  # the weights are at hand
    base = BaseCheckpoint(
        checkpoint.model.config, checkpoint.aligner, path, checkpoint.model.state_dict
    )
    with loading_checkpoint(base):
        readers = []
        reader_params = config.get("dataset_reader")
        for key in ("dataset_reader", "validation_dataset_reader"):
            readers.append(DatasetReader.from_params(config.get(key, reader_params).duplicate()))
        vocab = _labels_vocabulary(checkpoint.model.labels, checkpoint.model.rolesets)
        model = Model.from_params(vocab=vocab, params=model_params)
    # The AllenNLP model's modules are its transformers model's, so these are all its weights.
    model.hf_model.load_state_dict(checkpoint.model.state_dict())
    model = model.cuda(cuda_device) if cuda_device >= 0 else model.cpu()
    return Archive(model, config, readers[0], readers[1], Meta.new())
