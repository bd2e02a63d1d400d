"""
Patches of transformers releases that the AllenNLP environment is pinned to, applied when
`srl_plugin.hf.modeling` is imported. Each one changes nothing where transformers is already
correct.
"""

from typing import Any


def patch_deberta_v2_for_numpy_1_24() -> None:
    # transformers < 4.21 buckets DeBERTa-v2/v3 relative positions with `np.int`, which numpy
    # 1.24 removed (every DeBERTa-v3 then fails in the AllenNLP environment). Same computation,
    # with the 64-bit integer that `np.int` stood for.
    import numpy as np
    from transformers.models.deberta_v2 import modeling_deberta_v2 as deberta_v2

    source = getattr(deberta_v2, "make_log_bucket_position", None)
    if hasattr(np, "int") or source is None or "np.int)" not in _source(source):
        return

    def make_log_bucket_position(relative_pos: Any, bucket_size: int, max_position: int) -> Any:
        sign = np.sign(relative_pos)
        mid = bucket_size // 2
        abs_pos = np.where(
            (relative_pos < mid) & (relative_pos > -mid), mid - 1, np.abs(relative_pos)
        )
        log_pos = (
            np.ceil(np.log(abs_pos / mid) / np.log((max_position - 1) / mid) * (mid - 1)) + mid
        )
        return np.where(abs_pos <= mid, relative_pos, log_pos * sign).astype(np.int64)

    deberta_v2.make_log_bucket_position = make_log_bucket_position


def _source(function: Any) -> str:
    import inspect

    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return ""


patch_deberta_v2_for_numpy_1_24()
