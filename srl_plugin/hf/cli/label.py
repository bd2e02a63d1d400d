"""
`srl-label`: label a text or JSONL file (or stdin) with an export, without AllenNLP.

    srl-label EXPORT INPUT [-o OUTPUT] [--format jsonl|conll|html] [--documents]
              [--segment-window N|none] [--batch-size N] [--device cpu|cuda]
              [--runtime torch|onnxruntime] [--precision fp32|int8|bf16|fp16] [--threads N]
              [--resume] [--quiet]

The input is read and labelled in chunks (`SemanticRoleLabeler.label_stream`) and each result is
written, whole, as soon as its chunk is done: memory stays flat whatever the input's size, and
an interrupted run leaves complete records only. With `--format jsonl` and `-o`, `--resume`
continues such a run where it stopped.

With `--documents`, each input line, JSONL record or file of an input folder is a document
(`srl_plugin.hf.documents`): its sentences are labelled a chunk at a time and its result is
written piece by piece as they are done, so a document of any size is held as its text only.
A document cut off by an interruption (or an error) is removed from an output file, which keeps
complete records only; on stdout it stays, an incomplete last line without its line break. Each
frame of a sentence the segmenter found reads at most `--segment-window` sub-words around its
predicate (default the labeler's `DEFAULT_SEGMENT_WINDOW`): where a boundary was missed, a
"sentence" may be a paragraph, which every one of its frames would otherwise read whole.
Sentences given one a line are read whole.
"""

import argparse
import itertools
import os
import signal
import stat
import sys
import time
from typing import Any, BinaryIO, Dict, Iterable, Iterator, List, Optional, Tuple

from srl_plugin.hf.cli.options import (
    INTERRUPTED,
    CommandError,
    Parser,
    add_batching_arguments,
    add_device_arguments,
    add_export_argument,
    add_segment_window_argument,
    console_main,
)
from srl_plugin.hf.corpus import keep_heap_flat, label_lines, load_labeler
from srl_plugin.hf.documents import (
    Document,
    DocumentEnd,
    DocumentError,
    DocumentPiece,
    DocumentSentences,
    label_document_pieces,
    read_documents,
)
from srl_plugin.hf.formats import FORMATS, document_piece, record_writer
from srl_plugin.hf.inputs import not_utf8

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
    parser.add_argument(
        "input", help="text or JSONL file, or - for stdin; with --documents also a folder"
    )
    parser.add_argument("-o", "--output", default="-", help="output file (default: stdout)")
    parser.add_argument("--format", choices=FORMATS, default="jsonl", help="output format")
    parser.add_argument(
        "--input-format",
        choices=("auto", "text", "jsonl"),
        default="auto",
        help="auto (default): JSONL if the file ends in .jsonl/.json or its first non-blank "
        "line starts with '{', else text",
    )
    parser.add_argument(
        "--documents",
        action="store_true",
        help='each input line, JSONL record ({"id": ..., "text": ...}, other fields kept) or file '
        "of an input folder is a document: its sentences are found and labelled "
        "(--chunk-size sentences at a time), one result per document with offsets into it",
    )
    add_segment_window_argument(parser)
    add_batching_arguments(parser)
    add_device_arguments(parser)
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted jsonl run: keep OUTPUT's complete lines, skip as many "
        "input lines (documents with --documents), append the rest",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    return parser


def _run(args: argparse.Namespace) -> int:
    if args.resume and (args.output == "-" or args.format != "jsonl"):
        raise CommandError("--resume needs --format jsonl and an output file (-o)")
    folder = args.input != "-" and os.path.isdir(args.input)
    if folder and not args.documents:
        raise CommandError(
            f"input {args.input!r} is a folder: label each of its files as a document with "
            "--documents"
        )
    if args.input != "-" and not folder and not os.path.isfile(args.input):
        raise CommandError(f"input {args.input!r} is not a file")

    keep_heap_flat()
    skip = _complete_lines(args.output) if args.resume else 0
    if folder:
        paths = _folder_files(args.input)
        skipped = min(skip, len(paths))
        inputs: Iterator[Any] = (_read_document(args.input, path) for path in paths[skipped:])
        jsonl = False
    else:
        lines = _input_lines(args.input)
        inputs = lines.iterator
        jsonl = _is_jsonl(args, lines)
    labeler = load_labeler(
        args.export,
        args.batch_size,
        args.device,
        args.precision,
        args.runtime,
        args.threads,
        segment_window=args.segment_window,
    )

    if not folder:
        skipped = sum(1 for _ in itertools.islice(inputs, skip))
    if skipped < skip:
        raise CommandError(
            f"--resume: {args.output} has {skip} lines but the input only {skipped}: wrong input?"
        )
    show = not args.quiet and sys.stderr.isatty()
    unit = "documents" if args.documents else "lines"
    progress = _progress(args.input, skip, show, unit, len(paths) if folder else None)
    counts = {"errors": 0, "predicates": 0, "sentences": 0}
    header, record, footer = record_writer(args.format)
    records: Iterable[Tuple[str, bool]]
    if args.documents:
        documents = inputs if folder else read_documents(inputs, jsonl)
        pieces = label_document_pieces(labeler, documents, args.chunk_size, skip + 1)
        records = _document_records(pieces, args.format, counts, progress)
    else:
        results = label_lines(labeler, inputs, jsonl, args.chunk_size)
        records = ((record(result), True) for result in _counted(results, counts, progress))
    output = _open_output(args.output, append=args.resume)
    written = skip
    # Where the output file's complete records end: a record cut off in the middle (an
    # interrupted document) is truncated there. None: nothing to cut (done, or not a file).
    complete_at = _position(output)
    open_record = False
    started = time.perf_counter()
    # SIGINT/SIGTERM stop the run after the record (or document piece) being written: a signal
    # handler that raised could land anywhere (in a __del__, where it is ignored, or a write).
    stop: List[int] = []
    previous = {sig: signal.signal(sig, _stopper(stop)) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if header and not args.resume:
            _write_all(output, header.encode("utf-8"))
            complete_at = _position(output)
        for text, complete in records:
            _write_all(output, text.encode("utf-8", errors="replace"))
            open_record = not complete
            if complete:
                written += 1
                complete_at = _position(output)
            if stop:
                raise KeyboardInterrupt
        _write_all(output, footer.encode("utf-8"))
        complete_at = None
    except KeyboardInterrupt:
        progress.close()
        print(_resume_hint(args, written - skip, written, open_record), file=sys.stderr)
        return INTERRUPTED
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if output is not sys.stdout.buffer:
            if complete_at is not None and _position(output) != complete_at:
                os.ftruncate(output.fileno(), complete_at)
            output.close()
    progress.close()
    if show:
        elapsed = time.perf_counter() - started
        sentences = f"{counts['sentences']} sentences, " if args.documents else ""
        print(
            f"srl-label: {progress.n} {unit} ({counts['errors']} errors, {sentences}"
            f"{counts['predicates']} predicates) in {elapsed:.1f} s, "
            f"{progress.n / max(elapsed, 1e-9):.1f} {unit}/s",
            file=sys.stderr,
        )
    return 0


def _document_records(
    pieces: Iterable[DocumentPiece], output_format: str, counts: Dict[str, int], progress: Any
) -> Iterator[Tuple[str, bool]]:
    """Each piece's text in `output_format`, and whether it completes a document's record."""
    for piece in pieces:
        if isinstance(piece, DocumentSentences):
            counts["sentences"] += len(piece.sentences)
            counts["predicates"] += sum(len(result["verbs"]) for result in piece.sentences)
        complete = isinstance(piece, (DocumentEnd, DocumentError))
        if isinstance(piece, DocumentError):
            counts["errors"] += 1
        if complete:
            progress.update(1)
        yield document_piece(output_format, piece), complete


def _folder_files(folder: str) -> List[str]:
    """The files under `folder` (recursively, hidden ones left out), relative to it, sorted."""
    found: List[str] = []
    for root, directories, names in os.walk(folder):
        directories[:] = [name for name in directories if not name.startswith(".")]
        found.extend(
            os.path.relpath(os.path.join(root, name), folder)
            for name in names
            if not name.startswith(".")
        )
    return sorted(found)


def _read_document(folder: str, path: str) -> Document:
    """One file of an input folder as a document, its id the path; one not UTF-8 is an error."""
    with open(os.path.join(folder, path), "rb") as document_file:
        data = document_file.read()
    try:
        return Document(path, data.decode("utf-8"))
    except UnicodeDecodeError as error:
        return Document(path, "", error=f"file is {not_utf8(data, error)}")


def _position(output: BinaryIO) -> Optional[int]:
    """The position in a regular output file; None for a pipe, a terminal or a device."""
    try:
        if stat.S_ISREG(os.fstat(output.fileno()).st_mode):
            return output.tell()
    except (OSError, ValueError):
        pass
    return None


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


def _progress(path: str, skip: int, show: bool, unit: str, files: Optional[int]) -> Any:
    from tqdm.auto import tqdm

    total = files
    if show and path != "-" and files is None:
        with open(path, "rb") as counted:
            total = sum(block.count(b"\n") for block in iter(lambda: counted.read(1 << 20), b""))
    return tqdm(total=total, initial=skip, unit=f" {unit}", disable=not show, file=sys.stderr)


def _stopper(stop: List[int]) -> Any:
    def handler(signum: int, frame: Any) -> None:
        if stop:  # A second signal: stop now, even in the middle of a chunk.
            raise KeyboardInterrupt
        stop.append(signum)

    return handler


def _resume_hint(args: argparse.Namespace, new: int, total: int, cut_off: bool) -> str:
    unit = "documents" if args.documents else "results"
    done = f"srl-label: interrupted; {new} {unit} written in this run, {total} in all"
    if cut_off and args.output != "-":
        done += " (the document being written was removed)"
    if args.format == "jsonl" and args.output != "-":
        again = ["srl-label", *args.argv] + ([] if args.resume else ["--resume"])
        return f"{done} (complete lines). Resume with:\n  {' '.join(again)}"
    if args.format == "jsonl" and args.documents:
        # Piped on, a document's start cannot be taken back: --resume cuts it off a file.
        partial = "; the last line is the start of a document, without its line break" * cut_off
        return (
            f"{done} (complete lines{partial}). To go on, save the output to a file and run "
            "again with -o FILE --resume"
        )
    if args.format == "jsonl":
        return (
            f"{done} (complete lines). To go on, skip them: "
            f"tail -n +{total + 1} INPUT | srl-label EXPORT - >> OUTPUT"
        )
    return f"{done}. Only --format jsonl can be resumed: run again from the start."


if __name__ == "__main__":
    sys.exit(main())
