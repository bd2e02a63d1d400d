"""
AllenNLP archives and Hugging Face exports, both directions.

Three kinds of SRL model are read: archives of this plugin (model `hf_srl`), archives made by
allennlp-models' `srl_bert` (e.g. `structured-prediction-srl-bert.2020.12.15.tar.gz`) and Hugging
Face export folders. Each becomes an `SrlCheckpoint` (a `BertForSemanticRoleLabeling`, its
tokenizer and an `hf_srl` experiment config), which `load_srl_archive` turns into an AllenNLP
`Archive` and `write_export` / `write_archive` (the `srl-export` / `srl-import` commands) write out.

Archives are untrusted input. Unlike AllenNLP's `load_archive`, nothing here runs pickled code
(`load_torch_weights` admits tensors only) or lets a tar member write outside its folder: every
member is checked before anything is extracted, and links are never created.
"""

import atexit
import json
import logging
import os
import posixpath
import shutil
import tarfile
import tempfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
from allennlp.common import Params
from allennlp.common.meta import META_NAME, Meta
from allennlp.data import DatasetReader, Vocabulary
from allennlp.models import Model
from allennlp.models.archival import Archive
from transformers import BertConfig, BertTokenizer, PreTrainedModel

from srl_plugin.hf.export import (
    CONFIG_FILE,
    build_exact,
    read_aligner,
    read_bert_config,
    read_encoder_config,
    read_export,
    save_export,
    to_srl_names,
)
from srl_plugin.hf.model_card import render_model_card
from srl_plugin.hf.tokenization import (
    FAST_TOKENIZER_FILE,
    VOCAB_FILE,
    Aligner,
    WordPieceAligner,
)
from srl_plugin.hf.weights import CheckpointError, load_torch_weights

logger = logging.getLogger(__name__)

# The callback's default export folder, also the folder looked for inside archives.
DEFAULT_EXPORT_DIR = "hf_model"
WEIGHTS_NAME = "weights.th"
# A serialization folder (not yet archived) holds its best weights here.
BEST_WEIGHTS_NAME = "best.th"
VOCABULARY_DIR = "vocabulary"
LABELS_NAMESPACE = "labels"
# `allennlp evaluate` needs a data loader in the archive's config: training_configs/srl.jsonnet's.
DEFAULT_DATA_LOADER = {"batch_sampler": {"type": "bucket", "batch_size": 32}}
# BERT checkpoints published by Google all have 64-wide attention heads.
ATTENTION_HEAD_SIZE = 64


def embedded_export(serialization_dir: Optional[str]) -> Optional[str]:
    """The Hugging Face export inside a serialization folder or unpacked archive, if any."""
    if not serialization_dir:
        return None
    candidate = os.path.join(serialization_dir, DEFAULT_EXPORT_DIR)
    if os.path.isfile(os.path.join(candidate, "config.json")):
        return candidate
    return None


def resolve_checkpoint(bert_model: str, serialization_dir: Optional[str] = None) -> str:
    """
    The checkpoint folder to read the tokenizer and encoder configuration from: the export
    inside the archive being loaded (so archives stay usable after `bert_model` is deleted),
    else `bert_model`. An AllenNLP SRL archive given as `bert_model` (to fine-tune it) is converted
    to an export in a temporary folder, once per process.
    """
    export = embedded_export(serialization_dir)
    if export is not None:
        return export
    if is_allennlp_archive(bert_model):
        return _converted_export(bert_model)
    if not os.path.isdir(bert_model):
        raise FileNotFoundError(
            f"bert_model {bert_model!r} is not a folder: give a local Hugging Face checkpoint "
            "(config.json, weights, vocab.txt) or an SRL model.tar.gz; models cannot be "
            "downloaded by name here"
        )
    return bert_model


def is_allennlp_archive(path: str) -> bool:
    """A `model.tar.gz` file, or a folder holding an AllenNLP `config.json` and weights."""
    if os.path.isfile(path):
        return tarfile.is_tarfile(path)
    return os.path.isfile(os.path.join(path, CONFIG_FILE)) and _weights_path(path) is not None


_CONVERTED_EXPORTS: Dict[Tuple[str, float, int], str] = {}


def _converted_export(archive: str) -> str:
    # The reader and the model both resolve `bert_model`: convert once, keep it for the process.
    stat = os.stat(archive)
    key = (os.path.abspath(archive), stat.st_mtime, stat.st_size)
    if key not in _CONVERTED_EXPORTS:
        folder = tempfile.mkdtemp(prefix="srl_plugin_export_")
        atexit.register(shutil.rmtree, folder, True)
        export = os.path.join(folder, DEFAULT_EXPORT_DIR)
        write_export(read_srl_checkpoint(archive), export)
        logger.info("converted %s to a Hugging Face export in %s", archive, export)
        _CONVERTED_EXPORTS[key] = export
    return _CONVERTED_EXPORTS[key]


# Safe extraction ---------------------------------------------------------------------------------


def _member_path(archive: str, name: str) -> str:
    # A member's path inside the archive, refused if it could land outside the extraction folder.
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise CheckpointError(f"{archive}: refusing member {name!r}: absolute path")
    if ".." in name.replace("\\", "/").split("/"):
        raise CheckpointError(f"{archive}: refusing member {name!r}: path contains '..'")
    return posixpath.normpath(name)


def _check_members(archive: str, members: Sequence[tarfile.TarInfo]) -> Dict[str, str]:
    """
    Checks every member before anything is written. Only files, folders and links to files of the
    same archive are admitted; a link may not be the folder of another member (which would let
    that member be written through it). Returns each link's path and the file it points to.
    """
    paths = {member.name: _member_path(archive, member.name) for member in members}
    seen = set()
    for member in members:
        if not member.isdir() and paths[member.name] in seen:
            raise CheckpointError(f"{archive}: refusing member {member.name!r}: it appears twice")
        seen.add(paths[member.name])
    files = {paths[m.name] for m in members if m.isfile()}
    links = {}
    for member in members:
        path = paths[member.name]
        if member.issym() or member.islnk():
            if member.issym():
                if member.linkname.startswith("/"):
                    raise CheckpointError(
                        f"{archive}: refusing link {member.name!r} to {member.linkname!r} "
                        "outside the archive"
                    )
                target = posixpath.join(posixpath.dirname(path), member.linkname)
            else:
                target = member.linkname
            target = posixpath.normpath(target)
            if target == ".." or target.startswith("../") or target.startswith("/"):
                raise CheckpointError(
                    f"{archive}: refusing link {member.name!r} to {member.linkname!r} "
                    "outside the archive"
                )
            if target not in files:
                raise CheckpointError(
                    f"{archive}: refusing link {member.name!r}: {member.linkname!r} is not a "
                    "file of the archive"
                )
            links[path] = target
        elif not (member.isfile() or member.isdir()):
            raise CheckpointError(
                f"{archive}: refusing member {member.name!r}: not a file or folder"
            )
    for path in paths.values():
        parent = posixpath.dirname(path)
        while parent:
            if parent in links:
                raise CheckpointError(f"{archive}: refusing member {path!r} inside link {parent!r}")
            parent = posixpath.dirname(parent)
    return links


def safe_extract(archive: str, target: str) -> None:
    """
    Extracts a tar archive (gzipped or not) into the folder `target`. Members with absolute
    paths, `..`, links leading outside the archive, devices and fifos are refused before
    anything is written; links to files inside are written as copies, never as links.

    # Raises

    `CheckpointError` naming the archive and the problem (also for a truncated or corrupt file).
    """
    created = not os.path.exists(target)
    try:
        with tarfile.open(archive, "r:*") as tar:
            # Reading every header first also finds most truncations before anything is written.
            members = tar.getmembers()
            links = _check_members(archive, members)
            # Reading to the end checks the gzip trailer (length and CRC) too.
            while tar.fileobj.read(1 << 20):  # type: ignore[union-attr]
                pass
            os.makedirs(target, exist_ok=True)
            for member in members:
                path = _member_path(archive, member.name)
                destination = os.path.join(target, *path.split("/")) if path != "." else target
                if member.isdir():
                    os.makedirs(destination, exist_ok=True)
                elif member.isfile():
                    os.makedirs(os.path.dirname(destination), exist_ok=True)
                    source = tar.extractfile(member)
                    assert source is not None  # a regular file always has data
                    with source, open(destination, "wb") as output:
                        shutil.copyfileobj(source, output)
            for link, file in links.items():
                destination = os.path.join(target, *link.split("/"))
                os.makedirs(os.path.dirname(destination), exist_ok=True)
                shutil.copyfile(os.path.join(target, *file.split("/")), destination)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        if created:
            shutil.rmtree(target, ignore_errors=True)
        if isinstance(error, FileNotFoundError) and not os.path.exists(archive):
            raise CheckpointError(f"{archive}: no such archive") from None
        raise CheckpointError(
            f"{archive}: not a readable tar.gz archive (truncated or corrupt?): {error}"
        ) from None


@contextmanager
def _unpacked(path: str) -> Iterator[str]:
    # A folder as it is; an archive extracted into a temporary folder removed afterwards.
    if os.path.isdir(path):
        yield path
        return
    if not os.path.exists(path):
        raise CheckpointError(f"{path}: no such archive, export folder or file")
    folder = tempfile.mkdtemp(prefix="srl_plugin_archive_")
    try:
        safe_extract(path, folder)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# Reading ---------------------------------------------------------------------------------------


@dataclass
class SrlCheckpoint:
    """
    An SRL model read from an archive or export, ready to be written in either serialization.

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
    if os.path.isdir(path) and _weights_path(path) is None:
        return _read_export(path)
    with _unpacked(path) as folder:
        config = _read_json(folder, CONFIG_FILE, path)
        _refuse_code_references(config, os.path.join(path, CONFIG_FILE))
        model_type = (config.get("model") or {}).get("type")
        if model_type == "hf_srl":
            checkpoint = _read_own_archive(folder, path, config)
        elif model_type == "srl_bert":
            checkpoint = _read_srl_bert_archive(
                folder, path, config, tokenizer, bert_config, lowercase
            )
        else:
            raise CheckpointError(
                f"{path}: model type {model_type!r} is neither this plugin's hf_srl nor "
                "allennlp-models' srl_bert"
            )
        metrics_path = os.path.join(folder, "metrics.json")
        if os.path.isfile(metrics_path):
            metrics = _read_json(folder, "metrics.json", path)
            checkpoint.metrics = {
                k: v for k, v in metrics.items() if k.startswith("best_validation_")
            }
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
        "model": {"type": "hf_srl", "bert_model": export, "predicate_head": predicate_head},
        "data_loader": DEFAULT_DATA_LOADER,
    }
    return SrlCheckpoint(model, aligner, experiment, base_checkpoint=export)


def _read_own_archive(folder: str, path: str, config: Dict[str, Any]) -> SrlCheckpoint:
    bert_model = config["model"].get("bert_model", "")
    export = embedded_export(folder)
    if export is None:
        if not isinstance(bert_model, str) or not os.path.exists(bert_model):
            raise CheckpointError(
                f"{path}: holds no {DEFAULT_EXPORT_DIR}/ export and its bert_model {bert_model!r} "
                "is not there: the tokenizer and BERT config cannot be found"
            )
        export = resolve_checkpoint(bert_model)
    state, weights = _read_weights(folder, path)
    labels, labels_file = _read_labels(folder, path)
    model = build_exact(read_encoder_config(export, path), state, labels, weights, labels_file)
    return SrlCheckpoint(model, read_aligner(export), config, base_checkpoint=str(bert_model))


def _read_srl_bert_archive(
    folder: str,
    path: str,
    config: Dict[str, Any],
    tokenizer: Optional[str],
    bert_config: Optional[str],
    lowercase: Optional[bool],
) -> SrlCheckpoint:
    model_params = config["model"]
    reader_params = config.get("dataset_reader") or {}
    bert_model = model_params.get("bert_model")
    reader_bert = reader_params.get("bert_model_name")
    if not reader_bert:
        raise CheckpointError(
            f"{path}: its dataset_reader has no bert_model_name, so it was not trained on BERT "
            "wordpieces"
        )
    aligner = _srl_bert_aligner(reader_bert, bert_model, tokenizer, lowercase, path)
    upstream_state, weights = _read_weights(folder, path)
    state = _srl_bert_to_srl_names(upstream_state, weights)
    labels, labels_file = _read_labels(folder, path)
    hf_config = _srl_bert_config(bert_model, bert_config, state, path)
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
    return SrlCheckpoint(model, aligner, experiment, base_checkpoint=base)


def _srl_bert_to_srl_names(state: Dict[str, torch.Tensor], source: str) -> Dict[str, torch.Tensor]:
    # SrlBert's `bert_model` is a BertModel (with pooler), its `tag_projection_layer` the head.
    renamed = {}
    for name, tensor in state.items():
        if name.startswith("bert_model."):
            renamed["bert." + name[len("bert_model.") :]] = tensor
        elif name.startswith("tag_projection_layer."):
            renamed["classifier." + name[len("tag_projection_layer.") :]] = tensor
        else:
            raise CheckpointError(f"{source}: unexpected weight {name} for an srl_bert model")
    return to_srl_names(renamed)


def _srl_bert_config(
    bert_model: Union[str, Dict[str, Any], None],
    bert_config: Optional[str],
    state: Dict[str, torch.Tensor],
    source: str,
) -> BertConfig:
    if bert_config is not None:
        return read_bert_config(bert_config, source)
    if isinstance(bert_model, dict):
        return BertConfig.from_dict(bert_model)
    if isinstance(bert_model, str):
        if os.path.isfile(os.path.join(bert_model, CONFIG_FILE)):
            return read_bert_config(bert_model, source)
        try:
            return BertConfig.from_pretrained(bert_model, local_files_only=True)
        except (OSError, ValueError):
            pass
    return infer_bert_config(state, source)


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


def _srl_bert_aligner(
    reader_bert: str,
    bert_model: Union[str, Dict[str, Any], None],
    tokenizer: Optional[str],
    lowercase: Optional[bool],
    source: str,
) -> WordPieceAligner:
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


def _read_weights(folder: str, shown: str) -> Tuple[Dict[str, torch.Tensor], str]:
    path = _weights_path(folder)
    if path is None:
        raise CheckpointError(f"{shown}: no {WEIGHTS_NAME}: not a complete AllenNLP archive")
    shown_path = os.path.join(shown, os.path.basename(path))
    try:
        return load_torch_weights(path), shown_path
    except CheckpointError as error:
        raise CheckpointError(str(error).replace(path, shown_path)) from None


def _read_labels(folder: str, shown: str) -> Tuple[List[str], str]:
    shown_path = os.path.join(shown, VOCABULARY_DIR, f"{LABELS_NAMESPACE}.txt")
    if not os.path.isfile(os.path.join(folder, VOCABULARY_DIR, f"{LABELS_NAMESPACE}.txt")):
        raise CheckpointError(f"{shown_path}: missing: the archive has no SRL labels")
    vocab = Vocabulary.from_files(os.path.join(folder, VOCABULARY_DIR))
    labels = vocab.get_index_to_token_vocabulary(LABELS_NAMESPACE)
    return [labels[i] for i in range(len(labels))], shown_path


def _weights_path(folder: str) -> Optional[str]:
    return _first_file(folder, (WEIGHTS_NAME, BEST_WEIGHTS_NAME))


def _first_file(folder: str, names: Sequence[str]) -> Optional[str]:
    for name in names:
        if os.path.isfile(os.path.join(folder, name)):
            return os.path.join(folder, name)
    return None


def _read_json(folder: str, name: str, shown: str) -> Dict[str, Any]:
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        raise CheckpointError(f"{shown}: no {name}: not an AllenNLP archive or Hugging Face export")
    try:
        with open(path, encoding="utf-8") as json_file:
            value = json.load(json_file)
    except (ValueError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{os.path.join(shown, name)}: not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise CheckpointError(f"{os.path.join(shown, name)}: expected a JSON object")
    return value


# Writing ---------------------------------------------------------------------------------------


def write_export(checkpoint: SrlCheckpoint, directory: str, overwrite: bool = True) -> str:
    """
    Writes the Hugging Face export that the `hf_export` training callback writes, atomically.
    Returns the folder.
    """
    card = render_model_card(
        base_checkpoint=checkpoint.base_checkpoint,
        labels=checkpoint.model.labels,
        train_data=checkpoint.experiment.get("train_data_path"),
        validation_data=checkpoint.experiment.get("validation_data_path"),
        metrics=checkpoint.metrics,
    )
    return save_export(checkpoint.model, checkpoint.aligner, directory, card, overwrite=overwrite)


def _write_serialization_dir(checkpoint: SrlCheckpoint, folder: str, weights: bool = True) -> None:
    # The layout of an AllenNLP archive of an hf_srl model, with the export inside.
    write_export(checkpoint, os.path.join(folder, DEFAULT_EXPORT_DIR))
    with open(os.path.join(folder, CONFIG_FILE), "w", encoding="utf-8") as config_file:
        json.dump(checkpoint.experiment, config_file, indent=2)
    vocab = Vocabulary(non_padded_namespaces=[LABELS_NAMESPACE])
    vocab.add_tokens_to_namespace(checkpoint.model.labels, LABELS_NAMESPACE)
    vocab.save_to_files(os.path.join(folder, VOCABULARY_DIR))
    if weights:
        state = {k: v.detach().cpu().contiguous() for k, v in checkpoint.model.state_dict().items()}
        torch.save(state, os.path.join(folder, WEIGHTS_NAME))
    Meta.new().to_file(os.path.join(folder, META_NAME))


def write_archive(checkpoint: SrlCheckpoint, archive: str, overwrite: bool = False) -> str:
    """
    Writes an AllenNLP `model.tar.gz` of an `hf_srl` model (config, weights, labels vocabulary and
    the Hugging Face export under `hf_model/`), through a temporary file in the same folder
    renamed into place. Returns the archive's path.
    """
    archive = os.path.abspath(archive)
    if os.path.isdir(archive):
        raise CheckpointError(f"{archive} is a folder; give the archive's file name")
    if os.path.exists(archive) and not overwrite:
        raise FileExistsError(f"{archive} already exists (use --force to replace it)")
    parent = os.path.dirname(archive)
    os.makedirs(parent, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix="." + os.path.basename(archive) + ".", dir=parent)
    os.close(handle)
    try:
        with tempfile.TemporaryDirectory(prefix="srl_plugin_archive_") as folder:
            _write_serialization_dir(checkpoint, folder)
            with tarfile.open(partial, "w:gz") as tar:
                for name in sorted(os.listdir(folder)):
                    tar.add(os.path.join(folder, name), arcname=name)
        os.replace(partial, archive)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
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
    """
    checkpoint = read_srl_checkpoint(path, tokenizer, bert_config, lowercase)
    with tempfile.TemporaryDirectory(prefix="srl_plugin_archive_") as folder:
        # The weights are at hand: the model is built from the config, export and vocabulary.
        _write_serialization_dir(checkpoint, folder, weights=False)
        config = Params.from_file(os.path.join(folder, CONFIG_FILE), overrides or "")
        readers = []
        reader_params = config.get("dataset_reader")
        for key in ("dataset_reader", "validation_dataset_reader"):
            params = config.get(key, reader_params).duplicate()
            readers.append(DatasetReader.from_params(params, serialization_dir=folder))
        model_params = config.get("model").duplicate()
        model_params["load_weights"] = False
        vocab = Vocabulary.from_files(os.path.join(folder, VOCABULARY_DIR))
        model = Model.from_params(vocab=vocab, params=model_params, serialization_dir=folder)
        meta = Meta.from_path(os.path.join(folder, META_NAME))
    # The AllenNLP model's modules are its transformers model's, so these are all its weights.
    model.hf_model.load_state_dict(checkpoint.model.state_dict())
    model = model.cuda(cuda_device) if cuda_device >= 0 else model.cpu()
    return Archive(model, config, readers[0], readers[1], meta)
