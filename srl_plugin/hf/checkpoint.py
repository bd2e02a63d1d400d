"""
Reading Hugging Face BERT checkpoints and writing SRL exports, with any transformers version.

transformers < 4.23 cannot read `model.safetensors`, and `torch.load` before torch 1.13 has no
`weights_only`: both are handled here, without running pickled code.
"""

import json
import logging
import os
import pickle
import shutil
import struct
import tempfile
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Sequence

import torch
from transformers import BertConfig

from srl_plugin.hf.modeling import BertForSemanticRoleLabeling
from srl_plugin.hf.tokenization import WordPieceAligner

logger = logging.getLogger(__name__)

SAFETENSORS_FILE = "model.safetensors"
PYTORCH_FILE = "pytorch_model.bin"
CONFIG_FILE = "config.json"

_SAFETENSORS_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
# Checkpoint keys that are not weights of the SRL model.
_DROPPED_PREFIXES = ("pooler.", "cls.", "bert.pooler.")
_BUFFER_SUFFIXES = ("position_ids", "token_type_ids")


class CheckpointError(ValueError):
    """A checkpoint or archive file that cannot be read safely or does not fit the model."""


def read_safetensors(path: str) -> Dict[str, torch.Tensor]:
    """Reads a `.safetensors` file (the format is a JSON header and raw little-endian bytes)."""
    with open(path, "rb") as weights_file:
        data = weights_file.read()
    if len(data) < 8:
        raise CheckpointError(f"{path}: not a safetensors file (only {len(data)} bytes)")
    (header_size,) = struct.unpack("<Q", data[:8])
    if header_size > len(data) - 8:
        raise CheckpointError(f"{path}: truncated safetensors file (header of {header_size} bytes)")
    try:
        header = json.loads(data[8 : 8 + header_size])
    except ValueError as error:
        raise CheckpointError(f"{path}: unreadable safetensors header ({error})") from None
    body = bytearray(data[8 + header_size :])
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype = _SAFETENSORS_DTYPES.get(entry.get("dtype"))
        if dtype is None:
            raise CheckpointError(
                f"{path}: tensor {name!r} has unsupported dtype {entry.get('dtype')}"
            )
        begin, end = entry["data_offsets"]
        if not 0 <= begin <= end <= len(body):
            raise CheckpointError(f"{path}: tensor {name!r} lies outside the file (truncated?)")
        count = (end - begin) // torch.empty((), dtype=dtype).element_size()
        if count == 0:
            tensors[name] = torch.empty(entry["shape"], dtype=dtype)
            continue
        flat = torch.frombuffer(body, dtype=dtype, count=count, offset=begin)
        tensors[name] = flat.clone().reshape(entry["shape"])
    return tensors


def write_safetensors(tensors: Dict[str, torch.Tensor], path: str) -> None:
    """Writes `tensors` as a `.safetensors` file."""
    names = {dtype: name for name, dtype in _SAFETENSORS_DTYPES.items()}
    header: Dict[str, Any] = {}
    chunks, offset = [], 0
    for name, tensor in sorted(tensors.items()):
        data = tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
        header[name] = {
            "dtype": names[tensor.dtype],
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as weights_file:
        weights_file.write(struct.pack("<Q", len(encoded)))
        weights_file.write(encoded)
        for chunk in chunks:
            weights_file.write(chunk)


class _TensorsOnlyUnpickler(pickle.Unpickler):
    # Admits what torch.save writes for a state dict: tensors, storages, ordered dicts.
    _allowed = {
        ("collections", "OrderedDict"),
        ("torch._utils", "_rebuild_tensor"),
        ("torch._utils", "_rebuild_tensor_v2"),
        ("torch._utils", "_rebuild_parameter"),
        ("torch", "Size"),
        ("torch", "device"),
    }

    def find_class(self, module: str, name: str) -> Any:
        storage = module == "torch" and name.endswith("Storage")
        if (module, name) in self._allowed or storage:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refusing to load {module}.{name}: only tensors may be stored in a weights file"
        )


class _TensorsOnlyPickleModule:
    # What torch.load expects of its `pickle_module` argument.
    Unpickler = _TensorsOnlyUnpickler
    load = staticmethod(lambda file, **kwargs: _TensorsOnlyUnpickler(file, **kwargs).load())
    __name__ = "tensors_only_pickle"


def _torch_has_weights_only() -> bool:
    major, minor = (int(part) for part in torch.__version__.split(".")[:2])
    return (major, minor) >= (1, 13)


def load_torch_weights(path: str) -> Dict[str, torch.Tensor]:
    """
    `torch.load` of a state dict that never runs pickled code: `weights_only=True` where torch
    has it, a tensors-only unpickler before.
    """
    try:
        if _torch_has_weights_only():
            state = torch.load(path, map_location="cpu", weights_only=True)
        else:
            state = torch.load(path, map_location="cpu", pickle_module=_TensorsOnlyPickleModule)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such weights file") from None
    except pickle.UnpicklingError as error:
        raise CheckpointError(f"{path}: unsafe or corrupt weights file ({error})") from None
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        raise CheckpointError(f"{path}: corrupt or truncated weights file ({error})") from None
    if not isinstance(state, dict) or not all(
        isinstance(value, torch.Tensor) for value in state.values()
    ):
        raise CheckpointError(f"{path}: expected a state dict of tensors")
    return dict(state)


def read_checkpoint_weights(directory: str) -> Dict[str, torch.Tensor]:
    """The weights of a checkpoint folder: `model.safetensors`, else `pytorch_model.bin`."""
    safetensors_path = os.path.join(directory, SAFETENSORS_FILE)
    if os.path.exists(safetensors_path):
        return read_safetensors(safetensors_path)
    pytorch_path = os.path.join(directory, PYTORCH_FILE)
    if os.path.exists(pytorch_path):
        return load_torch_weights(pytorch_path)
    raise CheckpointError(
        f"{directory} holds neither {SAFETENSORS_FILE} nor {PYTORCH_FILE} "
        f"(sharded checkpoints are not supported)"
    )


def to_srl_names(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """
    Renames a BERT checkpoint's weights to `BertForSemanticRoleLabeling`'s: a bare `BertModel`
    (`embeddings.*`) gains the `bert.` prefix; the pooler, pre-training heads and index buffers
    are dropped; TF-era `gamma`/`beta` become `weight`/`bias`.
    """
    renamed = {}
    for name, tensor in state.items():
        if name.startswith(_DROPPED_PREFIXES) or name.endswith(_BUFFER_SUFFIXES):
            continue
        if name.startswith(("embeddings.", "encoder.")):
            name = "bert." + name
        name = name.replace("LayerNorm.gamma", "LayerNorm.weight")
        name = name.replace("LayerNorm.beta", "LayerNorm.bias")
        renamed[name] = tensor
    return renamed


def build_srl_model(
    config: BertConfig,
    state: Dict[str, torch.Tensor],
    labels: Sequence[str],
    source: str,
    old_labels: Optional[Sequence[str]] = None,
) -> BertForSemanticRoleLabeling:
    """
    `BertForSemanticRoleLabeling` with `labels`, its encoder (and any head it already had) taken
    from `state`.

    # Parameters

    config : `BertConfig`
        The encoder's configuration; its label maps are replaced by `labels`.
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
    model = BertForSemanticRoleLabeling(config)
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
        if not name.startswith(("classifier.", "predicate_classifier."))
        and not name.endswith(_BUFFER_SUFFIXES)
    ]
    if missing:
        raise CheckpointError(f"{source}: weights missing for {', '.join(sorted(missing)[:8])}")
    if unexpected:
        logger.warning("%s: ignoring weights %s", source, ", ".join(sorted(unexpected)[:8]))
    if classifier:
        _adopt_classifier_rows(model, classifier, labels, old_labels, source)
    return model


def _adopt_classifier_rows(
    model: BertForSemanticRoleLabeling,
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
    directory: str, labels: Optional[Sequence[str]] = None, predicate_head: bool = True
) -> BertForSemanticRoleLabeling:
    """
    Any BERT checkpoint folder (a `BertModel`, a `BertFor*` model, or an export of this plugin)
    as `BertForSemanticRoleLabeling`, with `labels` (default: the checkpoint's own `id2label`).
    """
    if not os.path.isfile(os.path.join(directory, CONFIG_FILE)):
        raise CheckpointError(
            f"{directory} is not a Hugging Face checkpoint folder (no {CONFIG_FILE})"
        )
    config = BertConfig.from_pretrained(directory)
    config.srl_predicate_head = predicate_head
    old_labels = [config.id2label[i] for i in range(len(config.id2label))]
    if labels is None:
        labels = old_labels
    has_srl_labels = any(label.startswith("B-") for label in old_labels)
    state = to_srl_names(read_checkpoint_weights(directory))
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
    model: BertForSemanticRoleLabeling,
    aligner: WordPieceAligner,
    directory: str,
    model_card: str,
    overwrite: bool = True,
) -> str:
    """
    Writes a Hugging Face export atomically: `config.json` (with `id2label`), weights
    (`pytorch_model.bin`, which every transformers version reads), tokenizer files and the
    `README.md` model card. Returns the folder.
    """
    state = {
        name: tensor.detach().cpu().contiguous()
        for name, tensor in model.state_dict().items()
        if not name.endswith(_BUFFER_SUFFIXES)
    }
    with atomic_directory(directory, overwrite=overwrite) as staging:
        model.config.architectures = [BertForSemanticRoleLabeling.__name__]
        model.config.save_pretrained(staging)
        torch.save(state, os.path.join(staging, PYTORCH_FILE))
        aligner.save_pretrained(staging, model_max_length=model.config.max_position_embeddings)
        with open(os.path.join(staging, "README.md"), "w", encoding="utf-8") as card:
            card.write(model_card)
    return os.path.abspath(directory)


def checkpoint_labels(directory: str) -> List[str]:
    """The BIO tags of an export, in id order."""
    config = BertConfig.from_pretrained(directory)
    return [config.id2label[i] for i in range(len(config.id2label))]
