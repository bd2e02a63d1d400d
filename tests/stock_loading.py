"""Loading an export with stock transformers classes in every transformers version."""

from typing import Any

import transformers

from srl_plugin.hf.checkpoints.weights import from_pretrained_reading_safetensors


def stock_from_pretrained(cls: Any, folder: str, **kwargs: Any) -> Any:
    """
    `cls.from_pretrained(folder)`. Exports hold `model.safetensors`, which transformers 4.20's
    `from_pretrained` cannot read: there it gets `state_dict=` from the file (the model card's
    recipe), the same weights through the same loading code as the plugin's classes.
    """
    return from_pretrained_reading_safetensors(
        cls.from_pretrained, transformers.AutoConfig, folder, **kwargs
    )
