"""
Which Hugging Face checkpoint folder an `hf_srl` model or reader reads its tokenizer and encoder
configuration from: the export inside the archive being loaded, else `bert_model`, which may
also be an AllenNLP SRL archive to fine-tune (converted to an export once per process).
"""

import atexit
import logging
import os
import shutil
import tempfile
from typing import Dict, Optional, Tuple

from srl_plugin.archives.archive import read_srl_checkpoint, write_export
from srl_plugin.archives.files import CONFIG_FILE, DEFAULT_EXPORT_DIR, is_allennlp_archive

logger = logging.getLogger(__name__)

_CONVERTED_EXPORTS: Dict[Tuple[str, float, int], str] = {}


def embedded_export(serialization_dir: Optional[str]) -> Optional[str]:
    """The Hugging Face export inside a serialization folder or unpacked archive, if any."""
    if not serialization_dir:
        return None
    candidate = os.path.join(serialization_dir, DEFAULT_EXPORT_DIR)
    if os.path.isfile(os.path.join(candidate, CONFIG_FILE)):
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
        return converted_export(bert_model)
    if not os.path.isdir(bert_model):
        raise FileNotFoundError(
            f"bert_model {bert_model!r} is not a folder: give a local Hugging Face checkpoint "
            "(config.json, weights, vocab.txt) or an SRL model.tar.gz; models cannot be "
            "downloaded by name here"
        )
    return bert_model


def converted_export(archive: str) -> str:
    """
    The Hugging Face export of an AllenNLP SRL archive, written to a temporary folder removed
    when the process ends. The reader and the model both resolve `bert_model`: converted once.
    """
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
