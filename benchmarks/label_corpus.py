"""
`srl-label` on EWT dev text: throughput against `allennlp predict` with the same weights, and
peak memory against input size.

1. Throughput (CPU, one run each): the dev sentences as raw text (words joined by spaces), no
   predicates given, so both find them with the predicate head and label every one.
   `srl-label EXPORT dev.txt` against `allennlp predict ARCHIVE dev.jsonl` (`{"sentence": ...}`
   lines, `hf_srl` predictor, ARCHIVE = `allennlp srl-import EXPORT`), both whole processes
   timed from start to exit, and again on a one-line input to show the start-up cost. The two
   outputs are compared frame by frame.
2. Peak RSS of `srl-label` on 1x, 10x and 100x the dev text (the text repeated), read from the
   kernel (`wait4`'s `ru_maxrss`): flat if the command streams. `--rss-layers N` runs them on
   the export cut to its first N encoder layers (same tokenizer, labels, heads and hidden size,
   N/L of the time), which makes 100x (196,800 lines) a matter of minutes on a CPU.

Usage:
    python benchmarks/label_corpus.py --export runs/demo/hf_model [--threads 1]
        [--scales 1 10 100] [--rss-export EXPORT] [--rss-layers N] [--skip-throughput]
        [--skip-rss]

`srl-label` runs in this interpreter's environment (`python -m srl_plugin.hf.cli.label`, this
checkout); `allennlp predict` in `--allennlp-python` (default: .venv/bin/python).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[1]
# Runs from any directory: the repository root holds `srl_plugin` and `benchmarks`.
sys.path.insert(0, str(ROOT))

from benchmarks._common import split_path  # noqa: E402
from srl_plugin.hf.conll import read_conll2012  # noqa: E402


def dev_sentences() -> List[str]:
    """The EWT dev sentences (words joined by spaces), from the shipped archive."""
    return [" ".join(sentence.words) for sentence in read_conll2012(str(split_path(None, "dev")))]


def run(command: Sequence[str], threads: int) -> Tuple[float, int]:
    """Runs a command to its end: (wall seconds, peak RSS in MiB of that process)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    env.update(PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    with tempfile.TemporaryFile() as log:  # A file, not a pipe: a full pipe would block it.
        started = time.perf_counter()
        process = subprocess.Popen(list(command), env=env, cwd=str(ROOT), stderr=log)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        log.seek(0)
        stderr = log.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(command)}\n{stderr[-3000:]}")
    return elapsed, usage.ru_maxrss // 1024


def srl_label(export: str, source: str, output: str, batch_size: int) -> List[str]:
    return [
        sys.executable, "-m", "srl_plugin.hf.cli.label", export, source, "-o", output,
        "--batch-size", str(batch_size), "--quiet",
    ]  # fmt: skip


def frames(path: str) -> List[List[List[str]]]:
    with open(path, encoding="utf-8") as lines:
        return [[verb["tags"] for verb in json.loads(line).get("verbs", [])] for line in lines]


def throughput(args: argparse.Namespace, work: str, sentences: List[str]) -> None:
    text, jsonl, one = (os.path.join(work, name) for name in ("dev.txt", "dev.jsonl", "one.txt"))
    Path(text).write_text("".join(s + "\n" for s in sentences), encoding="utf-8")
    Path(jsonl).write_text("".join(json.dumps({"sentence": s}) + "\n" for s in sentences))
    Path(one).write_text(sentences[0] + "\n")
    one_jsonl = os.path.join(work, "one.jsonl")
    Path(one_jsonl).write_text(json.dumps({"sentence": sentences[0]}) + "\n")
    archive = args.archive or os.path.join(work, "imported.tar.gz")
    allennlp = [args.allennlp_python, "-m", "allennlp.__main__"]
    if not args.archive:
        run([*allennlp, "srl-import", args.export, archive, "--include-package", "srl_plugin"], 1)

    def predict(source: str, output: str) -> List[str]:
        return [
            *allennlp, "predict", archive, source, "--output-file", output, "--batch-size",
            str(args.batch_size), "--silent", "--include-package", "srl_plugin",
        ]  # fmt: skip

    ours_out, theirs_out = os.path.join(work, "ours.jsonl"), os.path.join(work, "theirs.jsonl")
    figures: Dict[str, Dict[str, float]] = {}
    for name, full, start in (
        ("srl-label", srl_label(args.export, text, ours_out, args.batch_size),
         srl_label(args.export, one, os.devnull, args.batch_size)),
        ("allennlp predict", predict(jsonl, theirs_out), predict(one_jsonl, os.devnull)),
    ):  # fmt: skip
        startup, _ = run(start, args.threads)
        elapsed, rss = run(full, args.threads)
        figures[name] = {"seconds": elapsed, "startup": startup, "rss": rss}
    ours, theirs = frames(ours_out), frames(theirs_out)
    predicates = sum(len(tags) for tags in ours)
    same = sum(a == b for a, b in zip(ours, theirs))
    print(f"\nEWT dev text: {len(sentences)} sentences, {predicates} predicates found; "
          f"{args.threads} thread(s), batch size {args.batch_size}; whole processes")  # fmt: skip
    print(f"{'':28}{'srl-label':>14}{'allennlp predict':>18}{'ratio':>8}")
    rows = [
        ("sentences/s", lambda f: len(sentences) / f["seconds"]),
        ("predicates/s", lambda f: predicates / f["seconds"]),
        ("sentences/s after start-up", lambda f: len(sentences) / (f["seconds"] - f["startup"])),
        ("wall time (s)", lambda f: f["seconds"]),
        ("start-up, one line (s)", lambda f: f["startup"]),
        ("peak RSS (MiB)", lambda f: f["rss"]),
    ]
    for label, value in rows:
        mine, upstream = value(figures["srl-label"]), value(figures["allennlp predict"])
        print(f"{label:28}{mine:>14.1f}{upstream:>18.1f}{mine / upstream:>8.2f}")
    print(f"identical outputs (all frames' tags): {same} of {len(ours)} sentences")


def cut_export(export: str, layers: int, target: str) -> str:
    """`export` with only its first `layers` encoder layers, saved as an export in `target`."""
    from srl_plugin.hf.checkpoints.export import read_export, write_export

    model, aligner = read_export(export)
    if not 0 < layers <= model.config.num_hidden_layers:
        sys.exit(f"--rss-layers {layers}: the export has {model.config.num_hidden_layers} layers")
    if model.predicate_fusion_layer >= layers:
        sys.exit(f"--rss-layers {layers}: the export's fusion layer is above the cut")
    model.base_model.encoder.layer = model.base_model.encoder.layer[:layers]
    model.config.num_hidden_layers = layers
    card = f"The first {layers} layers of {export}, for benchmarks/label_corpus.py.\n"
    return write_export(model, aligner, target, card)


def memory(args: argparse.Namespace, work: str, sentences: List[str]) -> None:
    export = args.rss_export or args.export
    if args.rss_layers:
        export = cut_export(export, args.rss_layers, os.path.join(work, "cut_export"))
        print(f"\n(the memory runs use {args.rss_export or args.export} cut to {args.rss_layers} "
              f"layers)")  # fmt: skip
    print(f"\nPeak RSS of srl-label against input size (export {export}, "
          f"chunk {args.chunk_size} lines, batch {args.batch_size})")  # fmt: skip
    print(
        f"{'input':>8}{'lines':>10}{'MiB in':>9}{'seconds':>10}{'lines/s':>10}{'peak RSS MiB':>14}"
    )
    for scale in args.scales:
        source = os.path.join(work, f"dev_x{scale}.txt")
        with open(source, "w", encoding="utf-8") as text:
            for _ in range(scale):
                text.write("".join(s + "\n" for s in sentences))
        command = srl_label(export, source, os.path.join(work, "out.jsonl"), args.batch_size)
        elapsed, rss = run([*command, "--chunk-size", str(args.chunk_size)], args.threads)
        lines = scale * len(sentences)
        size = os.path.getsize(source) / 2**20
        print(
            f"{str(scale) + 'x':>8}{lines:>10}{size:>9.1f}{elapsed:>10.1f}{lines / elapsed:>10.1f}{rss:>14}"
        )
        os.remove(source)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", required=True, help="export folder (e.g. runs/demo/hf_model)")
    parser.add_argument(
        "--archive", help="the same weights as an AllenNLP archive (default: srl-import)"
    )
    parser.add_argument("--allennlp-python", default=str(ROOT / ".venv" / "bin" / "python"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--chunk-size", type=int, default=1024)
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--rss-export", help="export for the memory runs (default: --export)")
    parser.add_argument(
        "--rss-layers", type=int, help="cut the memory runs' export to its first N layers"
    )
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-rss", action="store_true")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        sentences = dev_sentences()
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.threads} thread(s)")
        if not args.skip_throughput:
            throughput(args, work, sentences)
        if not args.skip_rss:
            memory(args, work, sentences)


if __name__ == "__main__":
    main()
