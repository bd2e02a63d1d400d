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
With `documents=True`, each input line (text, or a JSONL record `{"id": ..., "text": ...}`) is a
document and its row is the document's JSON line, as `srl-label --documents` writes it, except
that a text line's id is `null` (a Ray batch does not know its lines' numbers: give ids in
JSONL records). `python -m srl_plugin.hf.cli.ray EXPORT INPUT OUTPUT_DIR [--documents]` runs
that and writes JSON lines files.
"""

from typing import Any, Dict, Optional

from srl_plugin.hf.corpus import keep_heap_flat, label_lines, load_labeler
from srl_plugin.hf.documents import label_documents, read_documents
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
    precision : `str`, optional (default = `"fp32"`)
        `int8` on CPU; `bf16` or `fp16` to run the encoder under autocast on a GPU.
    runtime : `str`, optional (default = `"torch"`)
        `onnxruntime` runs the export's ONNX form (`srl-onnx`; `pip install "srl_plugin[onnx]"`).
    threads : `int`, optional
        CPU threads of the runtime in each worker (default: the runtime's choice).
    input_format : `str`, optional (default = `"text"`)
        `text` (a sentence a line) or `jsonl` (the predictor's JSON objects).
    documents : `bool`, optional (default = `False`)
        Each line (text, or with `jsonl` a record `{"id": ..., "text": ...}`) is a document:
        one row per document, its sentences labelled `DEFAULT_CHUNK_SIZE` at a time
        (`srl_plugin.hf.documents`). A row holds its document's whole result.
    segment_window : `int`, optional
        With `documents`, each frame of a found sentence reads at most this many sub-words
        around its predicate (default the labeler's `DEFAULT_SEGMENT_WINDOW`); 0 reads whole
        sentences (`srl-label --segment-window`).
    """

    def __init__(
        self,
        export: str,
        batch_size: int = 64,
        device: Optional[str] = None,
        precision: str = "fp32",
        input_format: str = "text",
        documents: bool = False,
        runtime: str = "torch",
        threads: Optional[int] = None,
        segment_window: Optional[int] = None,
    ) -> None:
        if input_format not in ("text", "jsonl"):
            raise ValueError(f"input_format must be 'text' or 'jsonl', not {input_format!r}")
        keep_heap_flat()
        self.labeler = load_labeler(
            export, batch_size, device, precision, runtime, threads, segment_window=segment_window
        )
        self.jsonl = input_format == "jsonl"
        self.documents = documents

    def __call__(self, batch: Dict[str, Any]) -> Dict[str, Any]:
        import numpy

        lines = [str(line) for line in batch["text"]]
        if self.documents:
            from srl_plugin.hf.labeler import DEFAULT_CHUNK_SIZE

            documents = read_documents(lines, self.jsonl)
            results = label_documents(self.labeler, documents, DEFAULT_CHUNK_SIZE, None)
        else:
            results = label_lines(self.labeler, lines, self.jsonl, chunk_size=max(len(lines), 1))
        srl = [json_line(result)[:-1] for result in results]
        return {"srl": numpy.array(srl, dtype=object)}
