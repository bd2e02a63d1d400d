"""
Labelling a corpus of input lines with an export, shared by `srl-label` and the Ray Data labeller:
the labeler of an export on a device and precision (`load_labeler`), the result of each line in
order (`label_lines`), and a flat heap for long runs (`keep_heap_flat`).
"""

import ctypes
import itertools
import os
from typing import Any, Dict, Iterable, Iterator, Optional

from srl_plugin.hf.inputs import read_line

# The precisions `load_labeler` takes (`srl_plugin.hf.runtimes.PRECISIONS`), by the torch autocast
# dtype each stands for on a GPU ("" where none); DTYPES is their older name.
PRECISIONS = {"fp32": "", "int8": "", "bf16": "bfloat16", "fp16": "float16"}
DTYPES = PRECISIONS

# glibc's mallopt parameter M_MMAP_THRESHOLD (malloc.h) and its default value.
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 128 * 1024


def label_lines(
    labeler: Any, lines: Iterable[Any], jsonl: bool, chunk_size: int
) -> Iterator[Dict[str, Any]]:
    """
    The result of each input line (bytes or str), in order: the labeler's result, or for a bad
    line `{"error": "...", "input": "the line"}`. Used by `srl-label` and by Ray Data.
    """
    texts, items = itertools.tee((read_line(line, jsonl) for line in lines), 2)
    results = labeler.label_stream((item for _, item in items), chunk_size=chunk_size)
    for (text, _), result in zip(texts, results):
        if "error" in result:
            result["input"] = text
        yield result


def load_labeler(
    export: str,
    batch_size: int = 64,
    device: Optional[str] = None,
    precision: str = "fp32",
    runtime: str = "torch",
    threads: Optional[int] = None,
    dtype: Optional[str] = None,
    segment_window: Optional[int] = None,
) -> Any:
    """
    The `SemanticRoleLabeler` of an export, in eval mode, on `device` (default: `cuda` if torch
    sees one and the runtime is torch, else `cpu`), run by `runtime` (`torch` or `onnxruntime`,
    the export's `onnx/` form) at `precision` (`fp32`; `int8` on CPU; `bf16`/`fp16` autocast on
    a GPU) on `threads` CPU threads; each frame of a segmented sentence reads at most
    `segment_window` sub-words (default the labeler's `DEFAULT_SEGMENT_WINDOW`; 0: whole
    sentences). `dtype` is `precision`'s older name. Raises `ValueError` naming what is wrong
    (device, runtime, precision, export, a missing extra).
    """
    import torch

    from srl_plugin.hf.labeler import (
        DEFAULT_SEGMENT_WINDOW,
        SemanticRoleLabeler,
        check_segment_window,
    )
    from srl_plugin.hf.runtimes import MissingExtraError, check_runtime

    if dtype is not None:
        precision = dtype
    if device is None:
        cuda = torch.cuda.is_available() and precision != "int8" and runtime == "torch"
        device = "cuda" if cuda else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device}: torch sees no CUDA device")
    check_runtime(runtime, precision, device.split(":")[0])
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be positive, not {threads}")
    window = DEFAULT_SEGMENT_WINDOW if segment_window is None else segment_window or None
    # Checked before loading too: the labeler's ValueError would read as the export's below.
    check_segment_window(window)
    try:
        labeler = SemanticRoleLabeler.from_pretrained(
            export,
            device=device,
            batch_size=batch_size,
            runtime=runtime,
            precision=precision,
            threads=threads,
            segment_window=window,
        )
    except MissingExtraError:
        raise
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot load the export {export!r}: {error}") from None
    labeler.model.eval()
    return labeler


def keep_heap_flat() -> bool:
    """
    Fixes glibc's mmap threshold at its initial 128 KiB, so that every buffer larger than that
    (a batch's activations) is mapped on its own and handed back to the system when freed.

    By default glibc raises the threshold to the size of each mapped block that is freed (up to
    32 MiB), after which activations of varying shapes are carved out of the heap, whose freed
    holes are seldom returned: a labelling process's peak RSS then grows in steps with the
    input's length (`benchmarks/label_corpus.py`: 722 MiB for EWT dev, 884 MiB for ten times
    it) instead of staying flat. Called by `srl-label` and the Ray workers, processes of their
    own; a `MALLOC_MMAP_THRESHOLD_` in the environment wins. Returns whether it was set (False
    off glibc).
    """
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (macOS, Windows)
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD))
