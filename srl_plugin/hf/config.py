"""
A model's SRL settings, in one place: the keys this plugin writes into a transformers config
(`config.json`) with their defaults and meaning, the label map, and the one reader of a
checkpoint's `config.json`.

Every SRL key starts with `srl_` and is named after the `hf_srl` model option it records:

- `srl_predicate_head` (option `predicate_head`, default true): the model has a
  predicate-identification head.
- `srl_predicate_head_fit` (default none): how a head fitted afterwards was made
  (`srl-fit-predicates`: data, sentences, method, scores).
- `srl_predicate_fusion_layer` (option `predicate_fusion_layer`, default 0): the encoder layer
  where the predicate marker enters (0: at the input, as allennlp-models' `SrlBert`).
- `srl_predicate_distance_radius` (option `predicate_distance_radius`, default 16 with fusion,
  else 0): offsets from the predicate with an embedding of their own.
- `srl_predicate_pair_head` (option `predicate_pair_head`, default on with fusion): the tagger
  reads each sub-word with its predicate.
- `srl_rolesets` (option `sense_head`, default none): the sense head's rows in id order, one
  PropBank roleset id each (`have.01`, `have.03`, `have.LV`, ...); absent or empty: the model
  has no sense head (`set_rolesets`, `config_rolesets`).
- `srl_sense_head_fit` (default none): how a sense head fitted afterwards was made
  (`srl-fit-predicates --heads sense`: data, sentences, method, scores).

Exports written before these names read the same (`predicate_fusion_layer`,
`predicate_distance_radius`, `predicate_pair_head` without the prefix); writing a config
replaces the old names. Imports neither torch nor AllenNLP.
"""

import json
import os
import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

# Offsets from the predicate that get an embedding of their own (farther ones share the last).
DEFAULT_DISTANCE_RADIUS = 16
CONFIG_FILE = "config.json"
# Keys of configs written before the `srl_` names, by the name that replaced them.
_LEGACY_KEYS = {
    "srl_predicate_fusion_layer": "predicate_fusion_layer",
    "srl_predicate_distance_radius": "predicate_distance_radius",
    "srl_predicate_pair_head": "predicate_pair_head",
}

# Reads one file of a checkpoint by name (a folder, or an archive read in memory); None where
# it has no such file.
FileReader = Callable[[str], Optional[bytes]]


@dataclass(frozen=True)
class SrlSettings:
    """
    The SRL settings of a model (see the table above); `predicate_head_fit` is the record of a
    fitted predicate head, `None` for one trained jointly.
    """

    predicate_head: bool = True
    predicate_fusion_layer: int = 0
    predicate_distance_radius: int = 0
    predicate_pair_head: bool = False
    predicate_head_fit: Optional[Dict[str, Any]] = field(default=None)

    @classmethod
    def options(
        cls,
        predicate_head: bool = True,
        predicate_fusion_layer: int = 0,
        predicate_distance_radius: int = DEFAULT_DISTANCE_RADIUS,
        predicate_pair_head: Optional[bool] = None,
    ) -> "SrlSettings":
        """
        The settings of the `hf_srl` model options: no offset embeddings without fusion (the
        input marker needs none), and the pair head on with fusion, off without unless asked
        for, so that fusion layer 0 stays `SrlBert`'s model.
        """
        fused = predicate_fusion_layer > 0
        return cls(
            predicate_head=predicate_head,
            predicate_fusion_layer=predicate_fusion_layer,
            predicate_distance_radius=predicate_distance_radius if fused else 0,
            predicate_pair_head=fused if predicate_pair_head is None else predicate_pair_head,
        )

    def model_options(self) -> Dict[str, Any]:
        """
        The `hf_srl` options that build a model with these settings (none for today's model,
        whose options are the defaults), e.g. for an archive made from an export.
        """
        if not self.predicate_fusion_layer and not self.predicate_pair_head:
            return {}
        return {
            "predicate_fusion_layer": self.predicate_fusion_layer,
            "predicate_distance_radius": self.predicate_distance_radius,
            "predicate_pair_head": self.predicate_pair_head,
        }


def srl_settings(config: Any) -> SrlSettings:
    """The SRL settings of a transformers config (or of a `config.json` dict)."""

    def value(key: str, default: Any) -> Any:
        read = config.get if isinstance(config, dict) else lambda k, d: getattr(config, k, d)
        found = read(key, None)
        if found is None and key in _LEGACY_KEYS:
            found = read(_LEGACY_KEYS[key], None)
        return default if found is None else found

    return SrlSettings(
        predicate_head=bool(value("srl_predicate_head", True)),
        predicate_fusion_layer=int(value("srl_predicate_fusion_layer", 0)),
        predicate_distance_radius=int(value("srl_predicate_distance_radius", 0)),
        predicate_pair_head=bool(value("srl_predicate_pair_head", False)),
        predicate_head_fit=value("srl_predicate_head_fit", None),
    )


def set_srl_settings(config: Any, settings: SrlSettings) -> None:
    """Writes `settings` into a transformers config, replacing any keys of the old names."""
    for old in _LEGACY_KEYS.values():
        if hasattr(config, old):
            delattr(config, old)
    config.srl_predicate_head = settings.predicate_head
    config.srl_predicate_fusion_layer = settings.predicate_fusion_layer
    config.srl_predicate_distance_radius = settings.predicate_distance_radius
    config.srl_predicate_pair_head = settings.predicate_pair_head
    if settings.predicate_head_fit is not None:
        config.srl_predicate_head_fit = settings.predicate_head_fit
    elif hasattr(config, "srl_predicate_head_fit"):
        delattr(config, "srl_predicate_head_fit")


def update_srl_settings(config: Any, **changes: Any) -> SrlSettings:
    """Changes some SRL settings of a config (e.g. `predicate_head=True`); returns them all."""
    settings = dataclasses.replace(srl_settings(config), **changes)
    set_srl_settings(config, settings)
    return settings


def set_labels(config: Any, labels: Sequence[str]) -> None:
    """The label map of a config: `id2label` and `label2id` for BIO tags in label-id order."""
    config.id2label = {i: label for i, label in enumerate(labels)}
    config.label2id = {label: i for i, label in enumerate(labels)}


def config_labels(config: Any) -> List[str]:
    """A config's labels in label-id order (`id2label`)."""
    id2label = config.id2label
    return [id2label[i] for i in range(len(id2label))]


def set_rolesets(config: Any, rolesets: Sequence[str]) -> None:
    """
    The sense head's rows of a config (`srl_rolesets`): one roleset id per row, in row order;
    an empty sequence removes the key (no sense head). `ValueError` for a repeated id.
    """
    rolesets = [str(roleset) for roleset in rolesets]
    repeated = sorted(roleset for roleset, count in Counter(rolesets).items() if count > 1)
    if repeated:
        raise ValueError(f"rolesets must be distinct, not repeat {', '.join(repeated[:5])}")
    if rolesets:
        config.srl_rolesets = rolesets
    elif hasattr(config, "srl_rolesets"):
        delattr(config, "srl_rolesets")


def config_rolesets(config: Any) -> List[str]:
    """The sense head's rolesets of a config (or `config.json` dict) in row order; `[]`: none."""
    found = config.get("srl_rolesets") if isinstance(config, dict) else None
    if not isinstance(config, dict):
        found = getattr(config, "srl_rolesets", None)
    return [str(roleset) for roleset in found or []]


def sense_head_fit(config: Any) -> Optional[Dict[str, Any]]:
    """The record of a sense head fitted afterwards (`srl_sense_head_fit`); `None` otherwise."""
    found = config.get("srl_sense_head_fit") if isinstance(config, dict) else None
    if not isinstance(config, dict):
        found = getattr(config, "srl_sense_head_fit", None)
    return found or None


def set_sense_head_fit(config: Any, record: Optional[Dict[str, Any]]) -> None:
    """Records how a sense head was fitted (`None` removes the record: one trained jointly)."""
    if record is not None:
        config.srl_sense_head_fit = record
    elif hasattr(config, "srl_sense_head_fit"):
        delattr(config, "srl_sense_head_fit")


def folder_files(directory: str) -> FileReader:
    """The `FileReader` of a checkpoint folder."""

    def read(name: str) -> Optional[bytes]:
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            return None
        with open(path, "rb") as checkpoint_file:
            return checkpoint_file.read()

    return read


def read_json_file(read: FileReader, name: str, shown: str) -> Optional[Dict[str, Any]]:
    """The JSON object of a checkpoint's file `name` (`None` where there is none)."""
    data = read(name)
    if data is None:
        return None
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"{shown}: unreadable {name} ({error})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{shown}: {name} is not a JSON object")
    return value


def config_json(read: FileReader, shown: str) -> Optional[Dict[str, Any]]:
    """
    A checkpoint's `config.json` (`None` where it has none): the one reader of the file. One
    without `model_type`, as Google's first BERT checkpoints have, is BERT's.
    """
    values = read_json_file(read, CONFIG_FILE, shown)
    if values is not None:
        values.setdefault("model_type", "bert")
    return values


def read_config_json(directory: str) -> Dict[str, Any]:
    """`config_json` of a checkpoint folder, which must have one."""
    values = config_json(folder_files(directory), directory)
    if values is None:
        raise ValueError(f"{directory}: no {CONFIG_FILE}")
    return values
