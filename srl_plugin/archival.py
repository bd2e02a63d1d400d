"""
Where an `hf_srl` model finds its Hugging Face checkpoint: the folder named in the config while
training, the export carried inside `model.tar.gz` when an archive is loaded.
"""
import os
from typing import Optional

# The callback's default export folder, also the folder looked for inside archives.
DEFAULT_EXPORT_DIR = "hf_model"


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
    else `bert_model`.
    """
    export = embedded_export(serialization_dir)
    if export is not None:
        return export
    if not os.path.isdir(bert_model):
        raise FileNotFoundError(
            f"bert_model {bert_model!r} is not a folder: give a local Hugging Face checkpoint "
            "(config.json, weights, vocab.txt); models cannot be downloaded by name here"
        )
    return bert_model
