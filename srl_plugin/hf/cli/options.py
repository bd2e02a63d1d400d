"""
What every console script of the plugin shares: its argument parser, the options that mean the
same in each (the export, batching, device, precision) and one exit policy.

Exit policy: bad input or a bad export is one line on stderr, `PROG: error: WHAT`, and exit
status 2, with no traceback, whether argparse or the program finds it; an interrupted run
exits 130, one whose output reader went away (`| head`) 141 silently; success 0.
"""

import argparse
import os
import sys
from typing import Any, Callable, List, NoReturn, Optional

from srl_plugin.hf.runtimes import PRECISIONS, RUNTIMES

# Exit statuses.
BAD_INPUT = 2
INTERRUPTED = 130
BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a writer whose reader went away


class CommandError(Exception):
    """Bad input or a bad export, found by a program after parsing its arguments."""


class Parser(argparse.ArgumentParser):
    """An `ArgumentParser` whose errors follow the exit policy (one line, exit 2)."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(BAD_INPUT)


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be positive, not {value}")
    return value


def segment_window(text: str) -> int:
    """
    An argparse type: the sub-words a frame of a found sentence reads; `none` (read whole
    sentences) is 0, as `load_labeler` takes it (which checks the number).
    """
    if text.strip().lower() == "none":
        return 0
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number or none") from None


def non_negative_float(text: str) -> float:
    """An argparse type: a number of at least 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def add_frame_examples_argument(parser: argparse.ArgumentParser) -> None:
    """`--frame-examples [WEIGHT]`: a fitted sense head learns from the frame files' examples."""
    from srl_plugin.hf.rolesets import EXAMPLES_WEIGHT

    parser.add_argument(
        "--frame-examples",
        type=non_negative_float,
        nargs="?",
        const=EXAMPLES_WEIGHT,
        default=None,
        metavar="WEIGHT",
        help="fit the sense head on PropBank's frame-file example sentences too (shipped: about "
        "21,000, EWT dev and test left out), each weighing WEIGHT of a corpus frame (default "
        f"{EXAMPLES_WEIGHT}): rows for the rolesets the corpus lacks, for small corpora",
    )


def add_export_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("export", help="export folder (or a Hugging Face Hub id in the cache)")


def add_batching_arguments(parser: argparse.ArgumentParser) -> None:
    """`--batch-size` (frames per forward pass) and `--chunk-size` (lines labelled together)."""
    parser.add_argument(
        "--batch-size", type=positive_int, default=64, help="frames per forward pass"
    )
    parser.add_argument(
        "--chunk-size",
        type=positive_int,
        default=1024,
        help="lines read, sorted by length and labelled together (memory grows with it)",
    )


def add_segment_window_argument(parser: argparse.ArgumentParser) -> None:
    """`--segment-window` (sub-words a frame of a found sentence reads; 0 or none: all)."""
    from srl_plugin.hf.labeler import DEFAULT_SEGMENT_WINDOW

    parser.add_argument(
        "--segment-window",
        type=segment_window,
        default=None,
        metavar="N",
        help="with --documents: each frame of a sentence the segmenter found reads at most N "
        f"sub-words around its predicate (default {DEFAULT_SEGMENT_WINDOW}), so that a missed "
        "boundary does not make every frame read a whole paragraph; 0 or none: whole sentences",
    )


def add_device_arguments(parser: argparse.ArgumentParser, device: bool = True) -> None:
    """
    `--device`, `--runtime`, `--precision` (also `--dtype`, its older name; both set
    `args.precision` and `args.dtype`) and `--threads`.
    """
    if device:
        parser.add_argument(
            "--device", default=None, help="cpu, cuda or cuda:N (default: cuda if any)"
        )
    parser.add_argument(
        "--runtime",
        choices=RUNTIMES,
        default="torch",
        help="torch, or onnxruntime for the export's ONNX form (srl-onnx EXPORT; the onnx "
        "extra)",
    )
    parser.add_argument(
        "--precision",
        "--dtype",
        choices=PRECISIONS,
        default="fp32",
        action=_Precision,
        help="fp32; int8 (CPU, dynamic quantization); bf16/fp16 (GPU autocast, torch)",
    )
    parser.set_defaults(dtype="fp32")
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        help="CPU threads of the runtime (default: the library's choice)",
    )


class _Precision(argparse.Action):
    """Stores `--precision` / `--dtype` as both `precision` and `dtype` (the older name)."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        setattr(namespace, "precision", values)
        setattr(namespace, "dtype", values)


def run_command(prog: str, command: Callable[..., Optional[int]], *args: Any) -> int:
    """
    Runs `command(*args)` under the exit policy: its return value (default 0), or exit 2 with
    one line on stderr for a `CommandError`, a `ValueError` (the labeler's, an export's
    `CheckpointError`) or an `OSError` (a missing or unreadable file).
    """
    try:
        return command(*args) or 0
    except BrokenPipeError:
        # The reader of our output went away (`srl-label ... | head`): nothing is wrong.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return BROKEN_PIPE
    except (CommandError, ValueError, OSError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return BAD_INPUT
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return INTERRUPTED


def argv_or_command_line(argv: Optional[List[str]]) -> List[str]:
    return list(argv) if argv is not None else sys.argv[1:]


def console_main(
    parser: argparse.ArgumentParser,
    command: Callable[[argparse.Namespace], Optional[int]],
    argv: Optional[List[str]] = None,
) -> int:
    """
    A console script's `main`: parses `argv` (default: the command line; kept as `args.argv`)
    and runs `command(args)` under the exit policy.
    """
    argv = argv_or_command_line(argv)
    args = parser.parse_args(argv)
    args.argv = argv
    return run_command(parser.prog, command, args)
