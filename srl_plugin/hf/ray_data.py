"""
Corpus-scale labelling on Ray Data (`pip install "srl_plugin[ray]"`): `SrlLabeler` is a callable
class for `map_batches`, one instance (one model) per worker, on the labeler's own engine.

    import ray
    from srl_plugin.hf.ray_data import SrlLabeler

    labelled = ray.data.read_text("corpus/", drop_empty_lines=False).map_batches(
        SrlLabeler, fn_constructor_kwargs={"export": "OUT/hf_model"},
        batch_size=1024, concurrency=8, num_gpus=1,
    )

Each output row has one column, `srl`: the JSON line that `srl-label` writes for the input line.
`python -m srl_plugin.hf.ray_data EXPORT INPUT OUTPUT_DIR` runs that and writes JSON lines files.
"""

import argparse
import sys
from typing import Any, Dict, List, Optional

from srl_plugin.hf.cli import DTYPES, keep_heap_flat, label_lines, load_labeler
from srl_plugin.hf.formats import json_line


class SrlLabeler:
    """
    Labels a Ray Data batch of input lines (column `text`, as `ray.data.read_text` gives) into a
    batch with column `srl`, exactly as `srl-label` labels the same lines.

    # Parameters

    export : `str`
        Export folder (or Hub id), on every worker.
    batch_size : `int`, optional (default = `64`)
        Frames per forward pass; `map_batches`' own `batch_size` is the number of lines sorted
        and labelled together (`srl-label --chunk-size`).
    device : `str`, optional
        Default `cuda` when the worker has a GPU, else `cpu`.
    dtype : `str`, optional (default = `"fp32"`)
        `bf16` or `fp16` to run the encoder under autocast on a GPU.
    input_format : `str`, optional (default = `"text"`)
        `text` (a sentence a line) or `jsonl` (the predictor's JSON objects).
    """

    def __init__(
        self,
        export: str,
        batch_size: int = 64,
        device: Optional[str] = None,
        dtype: str = "fp32",
        input_format: str = "text",
    ) -> None:
        if input_format not in ("text", "jsonl"):
            raise ValueError(f"input_format must be 'text' or 'jsonl', not {input_format!r}")
        keep_heap_flat()
        self.labeler = load_labeler(export, batch_size, device, dtype)
        self.jsonl = input_format == "jsonl"

    def __call__(self, batch: Dict[str, Any]) -> Dict[str, Any]:
        import numpy

        lines = [str(line) for line in batch["text"]]
        results = label_lines(self.labeler, lines, self.jsonl, chunk_size=max(len(lines), 1))
        srl = [json_line(result)[:-1] for result in results]
        return {"srl": numpy.array(srl, dtype=object)}


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


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m srl_plugin.hf.ray_data",
        description="Label text or JSONL files with Ray Data (a local Ray, or the cluster of "
        "RAY_ADDRESS / `ray job submit`); writes JSON lines files into OUTPUT_DIR.",
    )
    parser.add_argument("export", help="export folder or Hub id, readable by every worker")
    parser.add_argument("input", help="file or folder (local, s3://, gs://, ...)")
    parser.add_argument("output_dir", help="folder for the JSON lines files")
    parser.add_argument("--input-format", choices=("text", "jsonl"), default="text")
    parser.add_argument("--workers", type=int, default=1, help="labeler instances (models)")
    parser.add_argument("--gpus-per-worker", type=float, default=0)
    parser.add_argument("--cpus-per-worker", type=float, default=1)
    parser.add_argument("--batch-size", type=int, default=64, help="frames per forward pass")
    parser.add_argument("--chunk-size", type=int, default=1024, help="lines labelled together")
    parser.add_argument("--dtype", choices=tuple(DTYPES), default="fp32")
    args = parser.parse_args(argv)

    import ray

    ray.init()
    ray.data.DataContext.get_current().execution_options.preserve_order = True
    dataset = ray.data.read_text(args.input, drop_empty_lines=False).map_batches(
        SrlLabeler,
        fn_constructor_kwargs={
            "export": args.export,
            "batch_size": args.batch_size,
            "dtype": args.dtype,
            "input_format": args.input_format,
        },
        batch_size=args.chunk_size,
        concurrency=args.workers,
        num_gpus=args.gpus_per_worker,
        num_cpus=args.cpus_per_worker,
    )
    dataset.write_datasink(_jsonl_datasink(args.output_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
