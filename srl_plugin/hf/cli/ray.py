"""
`python -m srl_plugin.hf.cli.ray EXPORT INPUT OUTPUT_DIR`: labels text or JSONL files on Ray Data
(a local Ray, or the cluster of `RAY_ADDRESS` / `ray job submit`) with
`srl_plugin.hf.ray_data.SrlLabeler`, and writes JSON lines files (`pip install ".[ray]"`).
"""

import argparse
import os
import sys
from typing import Any, List, Optional

from srl_plugin.hf.cli.options import (
    CommandError,
    Parser,
    add_batching_arguments,
    add_device_arguments,
    add_export_argument,
    add_segment_window_argument,
    console_main,
    positive_int,
)

PROG = "python -m srl_plugin.hf.cli.ray"


def main(argv: Optional[List[str]] = None) -> int:
    """Labels INPUT into OUTPUT_DIR with Ray Data; the exit policy of every console script."""
    return console_main(_parser(), _run, argv)


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        description="Label text or JSONL files with Ray Data (a local Ray, or the cluster of "
        "RAY_ADDRESS / `ray job submit`); writes JSON lines files into OUTPUT_DIR.",
    )
    add_export_argument(parser)
    parser.add_argument("input", help="file or folder (local, s3://, gs://, ...)")
    parser.add_argument("output_dir", help="folder for the JSON lines files")
    parser.add_argument("--input-format", choices=("text", "jsonl"), default="text")
    parser.add_argument(
        "--documents",
        action="store_true",
        help='each line (text, or a JSONL record {"id": ..., "text": ...}) is a document: one '
        "output line per document, as srl-label --documents writes it (text lines get id null)",
    )
    add_segment_window_argument(parser)
    parser.add_argument(
        "--workers", type=positive_int, default=1, help="labeler instances (models)"
    )
    parser.add_argument("--gpus-per-worker", type=float, default=0)
    parser.add_argument("--cpus-per-worker", type=float, default=1)
    add_batching_arguments(parser)
    add_device_arguments(parser, device=False)
    return parser


def _run(args: argparse.Namespace) -> None:
    try:
        import ray
    except ImportError:
        raise CommandError(
            "Ray is not installed: pip install 'srl_plugin[ray]' (Ray Data labelling)"
        ) from None
    from srl_plugin.hf.checkpoints.hub import resolve_model_dir
    from srl_plugin.hf.ray_data import SrlLabeler

    # Checked here, once, rather than by every worker after the cluster has started; each
    # worker resolves the export itself (its own Hub cache, another node's path).
    resolve_model_dir(args.export)
    if "://" not in args.input and not os.path.exists(args.input):
        raise CommandError(f"input {args.input!r}: no such file or folder")
    ray.init()
    ray.data.DataContext.get_current().execution_options.preserve_order = True
    dataset = ray.data.read_text(args.input, drop_empty_lines=False).map_batches(
        SrlLabeler,
        fn_constructor_kwargs={
            "export": args.export,
            "batch_size": args.batch_size,
            "precision": args.precision,
            "runtime": args.runtime,
            "threads": args.threads,
            "input_format": args.input_format,
            "documents": args.documents,
            "segment_window": args.segment_window,
        },
        batch_size=args.chunk_size,
        concurrency=args.workers,
        num_gpus=args.gpus_per_worker,
        num_cpus=args.cpus_per_worker,
    )
    dataset.write_datasink(_jsonl_datasink(args.output_dir))


def _jsonl_datasink(path: str) -> Any:
    from ray.data.datasource import BlockBasedFileDatasink

    class JsonLinesDatasink(BlockBasedFileDatasink):
        """Writes the `srl` column as it is: one JSON line per row."""

        def __init__(self, path: str) -> None:
            super().__init__(path, file_format="jsonl")

        def write_block_to_file(self, block: Any, file: Any) -> None:
            for line in block.to_arrow().column("srl").to_pylist():
                file.write((line + "\n").encode("utf-8"))

    return JsonLinesDatasink(path)


if __name__ == "__main__":
    sys.exit(main())
