"""Loading an export with stock transformers classes in every transformers version."""

import os
from typing import Any

import transformers
from safetensors.torch import load_file


def stock_from_pretrained(cls: Any, folder: str, **kwargs: Any) -> Any:
    """
    `cls.from_pretrained(folder)`. Exports hold `model.safetensors`, which transformers 4.20's
    `from_pretrained` cannot read: there it gets `state_dict=` from the file (the model card's
    recipe), the same weights through the same loading code.
    """
    major, minor = (int(part) for part in transformers.__version__.split(".")[:2])
    weights = os.path.join(folder, "model.safetensors")
    if (major, minor) >= (4, 30) or not os.path.isfile(weights):
        return cls.from_pretrained(folder, **kwargs)
    config = transformers.AutoConfig.from_pretrained(folder)
    return cls.from_pretrained(None, config=config, state_dict=load_file(weights), **kwargs)
