"""
Safe tensor I/O: reading and writing weight files without ever running pickled code.

`model.safetensors` is read and written with the `safetensors` library (transformers < 4.23
cannot read it through `from_pretrained`, so we never leave that to transformers). Legacy
`pytorch_model.bin` / `weights.th` files are read with `weights_only=True` where torch has it
(1.13+), and with a tensors-only unpickler before.
"""

import hashlib
import os
import pickle
from typing import Any, Callable, Dict

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

SAFETENSORS_FILE = "model.safetensors"
PYTORCH_FILE = "pytorch_model.bin"


class CheckpointError(ValueError):
    """A checkpoint or archive file that cannot be read safely or does not fit the model."""


def read_safetensors(path: str) -> Dict[str, torch.Tensor]:
    """The tensors of a `.safetensors` file, on the CPU."""
    try:
        return load_file(path, device="cpu")
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such weights file") from None
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{path}: not a readable safetensors file ({error})") from None


def from_pretrained_reading_safetensors(
    from_pretrained: Callable[..., Any], config_class: Any, folder: Any, *args: Any, **kwargs: Any
) -> Any:
    """
    `from_pretrained(folder, *args, **kwargs)` (a transformers class's); where transformers
    cannot read `model.safetensors` itself (before 4.23, e.g. the AllenNLP environment's 4.20),
    a folder's weights are read here with the safetensors library and handed over as
    `state_dict`, with the folder's config (`config_class.from_pretrained`): the same weights
    through the same loading code.
    """
    import transformers

    major, minor = (int(part) for part in transformers.__version__.split(".")[:2])
    weights = os.path.join(str(folder), SAFETENSORS_FILE)
    if (
        (major, minor) < (4, 23)
        and "state_dict" not in kwargs
        and os.path.isfile(weights)
        and not os.path.isfile(os.path.join(str(folder), PYTORCH_FILE))
    ):
        kwargs.setdefault("config", config_class.from_pretrained(folder))
        kwargs["state_dict"] = read_safetensors(weights)
        folder = None
    return from_pretrained(folder, *args, **kwargs)


def write_safetensors(tensors: Dict[str, torch.Tensor], path: str) -> None:
    """Writes `tensors` (contiguous CPU copies; tied weights are written once each) to `path`."""
    state = {name: tensor.detach().cpu().contiguous().clone() for name, tensor in tensors.items()}
    save_file(state, path, metadata={"format": "pt"})
    # save_file creates the file private (0600); give it the modes `open` would give.
    os.chmod(path, 0o666 & ~current_umask())


def current_umask() -> int:
    """The process's umask (which `os.umask` only reports by setting it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


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


def file_sha256(path: str) -> str:
    """The sha256 of a file's bytes, read in blocks (a weights file of any size)."""
    digest = hashlib.sha256()
    with open(path, "rb") as whole_file:
        for block in iter(lambda: whole_file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_file(directory: str) -> str:
    """The weights file of a checkpoint folder: `model.safetensors`, else `pytorch_model.bin`."""
    for name in (SAFETENSORS_FILE, PYTORCH_FILE):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    raise CheckpointError(
        f"{directory} holds neither {SAFETENSORS_FILE} nor {PYTORCH_FILE} "
        f"(sharded checkpoints are not supported)"
    )


def read_weights(path: str) -> Dict[str, torch.Tensor]:
    """
    The tensors of a weights file (`.safetensors`, else a torch pickle read tensors-only), or of
    a checkpoint folder's `model.safetensors` / `pytorch_model.bin`.
    """
    if os.path.isdir(path):
        path = weights_file(path)
    if path.endswith(".safetensors"):
        return read_safetensors(path)
    return load_torch_weights(path)
