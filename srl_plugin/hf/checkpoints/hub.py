"""
Hub repo ids as well as folders: `resolve_model_dir` finds an export in the local Hugging Face
cache, offline, as `from_pretrained` does with `HF_HUB_OFFLINE=1`. Nothing is ever downloaded.
"""

import os
import re
from typing import Optional

# `org/name` or `name`, as the Hub spells repo ids (letters, digits, `-`, `_`, `.`).
_REPO_ID = re.compile(r"^(?:[A-Za-z0-9][\w.-]{0,95}/)?[A-Za-z0-9][\w.-]{0,95}$")


def hub_cache_dir() -> str:
    """
    The Hugging Face Hub cache folder, read from the environment at call time (`HF_HUB_CACHE`,
    the older `HUGGINGFACE_HUB_CACHE`, `HF_HOME/hub`, else `~/.cache/huggingface/hub`), so
    that it follows the environment of every huggingface_hub version from 0.10 on.
    """
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(variable):
            return os.path.expanduser(os.environ[variable])
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache"), "huggingface"
    )
    return os.path.join(os.path.expanduser(home), "hub")


def resolve_model_dir(name_or_path: str, revision: Optional[str] = None) -> str:
    """
    The local folder of a model: `name_or_path` itself when it exists, else the snapshot of the
    Hub repo id `name_or_path` (`org/name`, at `revision`, default `main`) in the local cache.

    # Raises

    `FileNotFoundError` saying that `name_or_path` is neither a folder nor a cached repo id.
    """
    name_or_path = os.fspath(name_or_path)
    if os.path.exists(name_or_path):
        return name_or_path
    if not _REPO_ID.match(name_or_path):
        raise FileNotFoundError(f"{name_or_path}: no such folder (and not a Hub repo id)")
    from huggingface_hub import snapshot_download

    cache = hub_cache_dir()
    try:
        return snapshot_download(
            name_or_path, revision=revision, cache_dir=cache, local_files_only=True
        )
    except (OSError, ValueError) as error:  # all versions' not-cached errors are one of these
        raise FileNotFoundError(
            f"{name_or_path}: no such folder, and the Hub repo id {name_or_path!r}"
            f"{'@' + revision if revision else ''} is not in the local Hugging Face cache "
            f"{cache} ({type(error).__name__}); nothing is downloaded: fetch it first "
            f"(huggingface-cli download {name_or_path}) or give a folder"
        ) from None
