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
import itertools
import os
import signal
import sys
import time
from typing import Any, BinaryIO, Dict, Iterable, Iterator, List, Optional

from srl_plugin.hf.cli.options import (
    INTERRUPTED,
    CommandError,
    Parser,
    add_batching_arguments,
    add_device_arguments,
    add_export_argument,
    console_main,
)
from srl_plugin.hf.corpus import keep_heap_flat, label_lines, load_labeler
from srl_plugin.hf.formats import FORMATS, record_writer

PROG = "srl-label"


def main(argv: Optional[List[str]] = None) -> int:
    """The `srl-label` console script."""
    return console_main(_parser(), _run, argv)


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        description="Semantic role labelling of a text file (one sentence a line) or a JSONL "
        'file ({"sentence": ...} or {"tokens": [...]} with optional "predicates") with an '
        "export of srl_plugin, without AllenNLP.",
    )
    add_export_argument(parser)
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
    add_batching_arguments(parser)
    add_device_arguments(parser)
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted jsonl run: keep OUTPUT's complete lines, skip as many "
        "input lines, append the rest",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    return parser


def _run(args: argparse.Namespace) -> int:
    if args.resume and (args.output == "-" or args.format != "jsonl"):
        raise CommandError("--resume needs --format jsonl and an output file (-o)")
    if args.input != "-" and not os.path.isfile(args.input):
        raise CommandError(f"input {args.input!r} is not a file")

    keep_heap_flat()
    skip = _complete_lines(args.output) if args.resume else 0
    lines = _input_lines(args.input)
    jsonl = _is_jsonl(args, lines)
    labeler = load_labeler(args.export, args.batch_size, args.device, args.dtype)

    skipped = sum(1 for _ in itertools.islice(lines.iterator, skip))
    if skipped < skip:
        raise CommandError(
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
        print(_resume_hint(args, written - skip, written), file=sys.stderr)
        return INTERRUPTED
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


def _resume_hint(args: argparse.Namespace, new: int, total: int) -> str:
    done = f"srl-label: interrupted; {new} results written in this run, {total} in all"
    if args.format == "jsonl" and args.output != "-":
        again = ["srl-label", *args.argv] + ([] if args.resume else ["--resume"])
        return f"{done} (complete lines). Resume with:\n  {' '.join(again)}"
    if args.format == "jsonl":
        return (
            f"{done} (complete lines). To go on, skip them: "
            f"tail -n +{total + 1} INPUT | srl-label EXPORT - >> OUTPUT"
        )
    return f"{done}. Only --format jsonl can be resumed: run again from the start."


if __name__ == "__main__":
    sys.exit(main())
