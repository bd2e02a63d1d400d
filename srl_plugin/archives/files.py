"""
The files of an AllenNLP archive, by their path inside it, whether it is a `model.tar.gz` or an
unpacked folder. A `model.tar.gz` is read into memory (`read_tar`), never extracted: an
interrupted run leaves no folder behind, and nothing hostile reaches the disk.
"""

import io
import os
import re
import tarfile
from typing import Any, Dict, List, Optional, Tuple

import torch
from allennlp.common.util import namespace_match

from srl_plugin.archives.safe_tar import read_tar
from srl_plugin.hf.config import read_json_file
from srl_plugin.hf.checkpoints.weights import CheckpointError, load_torch_weights

CONFIG_FILE = "config.json"
# The callback's default export folder, also the folder looked for inside archives.
DEFAULT_EXPORT_DIR = "hf_model"
WEIGHTS_NAME = "weights.th"
# A serialization folder (not yet archived) holds its best weights here.
BEST_WEIGHTS_NAME = "best.th"
VOCABULARY_DIR = "vocabulary"
LABELS_NAMESPACE = "labels"
LABELS_FILE = f"{VOCABULARY_DIR}/{LABELS_NAMESPACE}.txt"
# The vocabulary namespace of the rolesets (`have.03`; the `hf_srl` reader's `sense_labels`):
# the sense head's rows in index order. Archives of models without a sense head have none.
ROLESETS_NAMESPACE = "roleset_labels"
NON_PADDED_FILE = f"{VOCABULARY_DIR}/non_padded_namespaces.txt"
METRICS_FILE = "metrics.json"


def is_allennlp_archive(path: str) -> bool:
    """A `model.tar.gz` file, or a folder holding an AllenNLP `config.json` and weights."""
    if os.path.isfile(path):
        return tarfile.is_tarfile(path)
    weights = (os.path.join(path, name) for name in (WEIGHTS_NAME, BEST_WEIGHTS_NAME))
    return os.path.isfile(os.path.join(path, CONFIG_FILE)) and any(map(os.path.isfile, weights))


class _NamedBytes(io.BytesIO):
    # Read by torch.load like a file; error messages name it by its place in the archive.
    def __init__(self, data: bytes, name: str) -> None:
        super().__init__(data)
        self.name = name

    def __str__(self) -> str:
        return self.name


class ArchiveFiles:
    """
    # Parameters

    path : `str`
        A `model.tar.gz` (read whole, after `read_tar` has checked it) or a folder.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._members: Optional[Dict[str, bytes]] = None
        if not os.path.isdir(path):
            if not os.path.exists(path):
                raise CheckpointError(f"{path}: no such archive, export folder or file")
            self._members = read_tar(path)

    def shown(self, name: str) -> str:
        """How error messages name the file `name` of the archive."""
        return os.path.join(self.path, name)

    def read(self, name: str) -> Optional[bytes]:
        """The content of the file `name` (a path inside the archive, `/`-separated), or None."""
        if self._members is not None:
            return self._members.get(name)
        path = os.path.join(self.path, *name.split("/"))
        if not os.path.isfile(path):
            return None
        with open(path, "rb") as file:
            return file.read()

    def __contains__(self, name: str) -> bool:
        if self._members is not None:
            return name in self._members
        return os.path.isfile(os.path.join(self.path, *name.split("/")))

    def json(self, name: str) -> Dict[str, Any]:
        """The JSON object in file `name`."""
        try:
            value = read_json_file(self.read, name, self.path)
        except ValueError as error:
            raise CheckpointError(str(error)) from None
        if value is None:
            raise CheckpointError(
                f"{self.path}: no {name}: not an AllenNLP archive or Hugging Face export"
            )
        return value

    def weights_name(self) -> Optional[str]:
        """`weights.th`, else a serialization folder's `best.th`, if there is either."""
        for name in (WEIGHTS_NAME, BEST_WEIGHTS_NAME):
            if name in self:
                return name
        return None

    def weights(self) -> Tuple[Dict[str, torch.Tensor], str]:
        """The model's weights (tensors only: no pickled code runs) and how errors name them."""
        name = self.weights_name()
        if name is None:
            raise CheckpointError(
                f"{self.path}: no {WEIGHTS_NAME}: not a complete AllenNLP archive"
            )
        shown = self.shown(name)
        data = self.read(name)
        assert data is not None
        return load_torch_weights(_NamedBytes(data, shown)), shown  # type: ignore[arg-type]

    def labels(self) -> Tuple[List[str], str]:
        """
        The BIO tags of the `labels` vocabulary namespace in id order, as AllenNLP's
        `Vocabulary.from_files` reads them, and how errors name the file.
        """
        labels = self._namespace(LABELS_NAMESPACE, "SRL tags")
        if labels is None:
            raise CheckpointError(
                f"{self.shown(LABELS_FILE)}: missing: the archive has no SRL labels"
            )
        return labels, self.shown(LABELS_FILE)

    def rolesets(self) -> List[str]:
        """
        The sense head's rolesets (the `roleset_labels` namespace) in id order; `[]` for an
        archive without them.
        """
        return self._namespace(ROLESETS_NAMESPACE, "rolesets") or []

    def _namespace(self, namespace: str, what: str) -> Optional[List[str]]:
        # A non-padded namespace's tokens in id order, as `Vocabulary.from_files` reads them.
        name = f"{VOCABULARY_DIR}/{namespace}.txt"
        shown = self.shown(name)
        data = self.read(name)
        if data is None:
            return None
        patterns = (self.read(NON_PADDED_FILE) or b"").decode("utf-8").split()
        if patterns and not any(namespace_match(pattern, namespace) for pattern in patterns):
            raise CheckpointError(
                f"{shown}: the {namespace} namespace is padded ({NON_PADDED_FILE} does not list "
                f"it): not a vocabulary of {what}"
            )
        lines = re.split(r"\n|\r\n", data.decode("utf-8"))
        if lines and lines[-1] == "":
            lines = lines[:-1]
        return [line.replace("@@NEWLINE@@", "\n") for line in lines]
