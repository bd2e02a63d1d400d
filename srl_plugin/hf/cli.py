"""
`srl-label`: label a text or JSONL file (or stdin) with an export, without AllenNLP.

    srl-label EXPORT INPUT [-o OUTPUT] [--format jsonl|conll|html] [--batch-size N]
              [--device cpu|cuda] [--dtype bf16|fp16|fp32] [--resume] [--quiet]

The input is read and labelled in chunks (`SemanticRoleLabeler.label_stream`) and each result is
written, whole, as soon as its chunk is done: memory stays flat whatever the input's size, and
an interrupted run leaves complete records only. With `--format jsonl` and `-o`, `--resume`
continues such a run where it stopped.
"""

import argparse
import ctypes
import itertools
import os
import signal
import sys
import time
from typing import Any, BinaryIO, Dict, Iterable, Iterator, List, Optional

from srl_plugin.hf.formats import FORMATS, record_writer
from srl_plugin.hf.inputs import read_line

DTYPES = {"fp32": "", "bf16": "bfloat16", "fp16": "float16"}

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
    export: str, batch_size: int = 64, device: Optional[str] = None, dtype: str = "fp32"
) -> Any:
    """
    The `SemanticRoleLabeler` of an export, in eval mode, on `device` (default: `cuda` if torch
    sees one, else `cpu`) with the encoder in `dtype` (`fp32`, or `bf16`/`fp16` on a GPU).
    Raises `ValueError` naming what is wrong (device, dtype, export).
    """
    import torch

    from srl_plugin.hf.labeler import SemanticRoleLabeler

    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, not {dtype!r}")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device}: torch sees no CUDA device")
    if dtype != "fp32" and not device.startswith("cuda"):
        raise ValueError(f"dtype {dtype} needs a CUDA device (on CPU use fp32)")
    autocast = getattr(torch, DTYPES[dtype]) if DTYPES[dtype] else None
    try:
        labeler = SemanticRoleLabeler.from_pretrained(
            export, device=device, batch_size=batch_size, autocast_dtype=autocast
        )
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


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args, argv if argv is not None else sys.argv[1:])
    except (_UsageError, ValueError) as error:
        print(f"srl-label: error: {error}", file=sys.stderr)
        return 2


class _UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="srl-label",
        description="Semantic role labelling of a text file (one sentence a line) or a JSONL "
        'file ({"sentence": ...} or {"tokens": [...]} with optional "predicates") with an '
        "export of srl_plugin, without AllenNLP.",
    )
    parser.add_argument("export", help="export folder (or a Hugging Face Hub id in the cache)")
    parser.add_argument("input", help="text or JSONL file, or - for stdin")
    parser.add_argument("-o", "--output", default="-", help="output file (default: stdout)")
    parser.add_argument("--format", choices=FORMATS, default="jsonl", help="output format")
    parser.add_argument(
        "--input-format",
        choices=("auto", "text", "jsonl"),
        default="auto",
        help="auto (default): JSONL if the file ends in .jsonl/.json or its first non-blank "
        "line starts with '{', else text",
    )
    parser.add_argument("--batch-size", type=int, default=64, help="frames per forward pass")
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=1024,
        help="lines read, sorted by length and labelled together (memory grows with it)",
    )
    parser.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda if any)")
    parser.add_argument(
        "--dtype", choices=tuple(DTYPES), default="fp32", help="encoder precision (bf16/fp16: GPU)"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted jsonl run: keep OUTPUT's complete lines, skip as many "
        "input lines, append the rest",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    return parser


def _run(args: argparse.Namespace, argv: List[str]) -> int:
    for name in ("batch_size", "chunk_size"):
        if getattr(args, name) < 1:
            raise _UsageError(
                f"--{name.replace('_', '-')} must be positive, not {getattr(args, name)}"
            )
    if args.resume and (args.output == "-" or args.format != "jsonl"):
        raise _UsageError("--resume needs --format jsonl and an output file (-o)")
    if args.input != "-" and not os.path.isfile(args.input):
        raise _UsageError(f"input {args.input!r} is not a file")

    keep_heap_flat()
    skip = _complete_lines(args.output) if args.resume else 0
    lines = _input_lines(args.input)
    jsonl = _is_jsonl(args, lines)
    labeler = load_labeler(args.export, args.batch_size, args.device, args.dtype)

    skipped = sum(1 for _ in itertools.islice(lines.iterator, skip))
    if skipped < skip:
        raise _UsageError(
            f"--resume: {args.output} has {skip} lines but the input only {skipped}: wrong input?"
        )
    results = label_lines(labeler, lines.iterator, jsonl, args.chunk_size)
    show = not args.quiet and sys.stderr.isatty()
    progress = _progress(args.input, skip, show)
    output = _open_output(args.output, append=args.resume)
    header, record, footer = record_writer(args.format)
    written = skip
    counts = {"errors": 0, "predicates": 0}
    started = time.perf_counter()
    # SIGINT/SIGTERM stop the run after the record being written: a signal handler that raised
    # could land anywhere (in a __del__, where it is ignored, or inside a write).
    stop: List[int] = []
    previous = {sig: signal.signal(sig, _stopper(stop)) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if header and not args.resume:
            _write_all(output, header.encode("utf-8"))
        for result in _counted(results, counts, progress):
            _write_all(output, record(result).encode("utf-8", errors="replace"))
            written += 1
            if stop:
                raise KeyboardInterrupt
        _write_all(output, footer.encode("utf-8"))
    except KeyboardInterrupt:
        progress.close()
        print(_resume_hint(args, argv, written - skip, written), file=sys.stderr)
        return 130
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if output is not sys.stdout.buffer:
            output.close()
    progress.close()
    if show:
        elapsed = time.perf_counter() - started
        print(
            f"srl-label: {progress.n} lines ({counts['errors']} errors, {counts['predicates']} "
            f"predicates) in {elapsed:.1f} s, {progress.n / max(elapsed, 1e-9):.1f} lines/s",
            file=sys.stderr,
        )
    return 0


class _Lines:
    """The input's lines (bytes, line breaks kept), with the first ones peeked at kept in front."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.peeked: List[bytes] = []
        self.iterator: Iterator[bytes] = self._iterate()

    def peek_first_nonblank(self) -> Optional[bytes]:
        for line in self.stream:
            self.peeked.append(line)
            if line.strip():
                return line
        return None

    def _iterate(self) -> Iterator[bytes]:
        while self.peeked:
            yield self.peeked.pop(0)
        yield from self.stream


def _input_lines(path: str) -> _Lines:
    return _Lines(sys.stdin.buffer if path == "-" else open(path, "rb"))


def _is_jsonl(args: argparse.Namespace, lines: _Lines) -> bool:
    if args.input_format != "auto":
        return args.input_format == "jsonl"
    if args.input.endswith((".jsonl", ".json")):
        return True
    if args.input.endswith(".txt"):
        return False
    first = lines.peek_first_nonblank()
    return first is not None and first.lstrip().startswith(b"{")


def _complete_lines(path: str) -> int:
    """The complete lines of a previous run's output; a half-written last line is cut off."""
    if not os.path.exists(path):
        return 0
    count = 0
    end = 0
    with open(path, "rb") as previous:
        for line in previous:
            if not line.endswith(b"\n"):
                break
            count += 1
            end += len(line)
    if end != os.path.getsize(path):
        os.truncate(path, end)
    return count


def _open_output(path: str, append: bool) -> BinaryIO:
    if path == "-":
        return sys.stdout.buffer
    # Unbuffered: each record goes to the file in one write, never half of it.
    return open(path, "ab" if append else "wb", buffering=0)


def _write_all(output: BinaryIO, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = output.write(view)
        view = view[written if written is not None else len(view) :]
    output.flush()


def _counted(results: Iterable[Dict[str, Any]], counts: Dict[str, int], progress: Any):
    for result in results:
        if "error" in result:
            counts["errors"] += 1
        else:
            counts["predicates"] += len(result["verbs"])
        progress.update(1)
        yield result


def _progress(path: str, skip: int, show: bool) -> Any:
    from tqdm.auto import tqdm

    total = None
    if show and path != "-":
        with open(path, "rb") as counted:
            total = sum(block.count(b"\n") for block in iter(lambda: counted.read(1 << 20), b""))
    return tqdm(total=total, initial=skip, unit=" lines", disable=not show, file=sys.stderr)


def _stopper(stop: List[int]) -> Any:
    def handler(signum: int, frame: Any) -> None:
        if stop:  # A second signal: stop now, even in the middle of a chunk.
            raise KeyboardInterrupt
        stop.append(signum)

    return handler


def _resume_hint(args: argparse.Namespace, argv: List[str], new: int, total: int) -> str:
    done = f"srl-label: interrupted; {new} results written in this run, {total} in all"
    if args.format == "jsonl" and args.output != "-":
        again = ["srl-label", *argv] + ([] if args.resume else ["--resume"])
        return f"{done} (complete lines). Resume with:\n  {' '.join(again)}"
    if args.format == "jsonl":
        return (
            f"{done} (complete lines). To go on, skip them: "
            f"tail -n +{total + 1} INPUT | srl-label EXPORT - >> OUTPUT"
        )
    return f"{done}. Only --format jsonl can be resumed: run again from the start."


if __name__ == "__main__":
    sys.exit(main())
