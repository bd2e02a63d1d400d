"""
Raw-text SRL on CPU at the runtime's and precision's limit: {f = 0, fused} x {fp32, int8} x
{torch, onnxruntime}, at each thread count, against allennlp-models' predictor path, in one run.

Every configuration labels the raw words of EWT dev (the predicate head finds the predicates,
then each is labelled: `SemanticRoleLabeler.predict_batch`) in a process of its own, so that its
peak RSS is its own; a row gives predicates/s (fastest of `--repeats`), the ratio to
allennlp-models' `SrlBert` + `SemanticRoleLabelerPredictor` path at the same thread count (run by
`benchmarks/shared_encoding.py` in the AllenNLP environment, `--allennlp-python`, on the f = 0
weights and the predicates our f = 0 model found), end-to-end span F1 (`benchmarks.end_to_end_srl
.score`), the share of word tags equal to torch fp32's on the frames both found, peak RSS and
the model's size on disk (the weights file; the int8 state dict as torch would save it; the
precision's ONNX graphs).

    python benchmarks/cpu_serving.py --export 0=runs/f0/hf_model --export 5=runs/f5/hf_model \\
        --threads 1 2 --bert-base

`--bert-base` adds BERT-base-sized models with random weights (speed only; their random
predicate head's pass runs and its output is replaced by the gold predicates, as in
`benchmarks/shared_encoding.py --random-like`) on the first `--bert-base-sentences` sentences.
An export without its ONNX form gets one (`srl-onnx EXPORT --int8`) first.
"""

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks._common import environment_info, setup_environment, split_path  # noqa: E402

CONFIGS = [("torch", "fp32"), ("torch", "int8"), ("onnxruntime", "fp32"), ("onnxruntime", "int8")]


# One configuration, in a process of its own


def worker(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Labels the sentences with one configuration; its figures (and frames, for agreement)."""
    setup_environment(spec["threads"])
    import torch

    from benchmarks.end_to_end_srl import score
    from benchmarks.shared_encoding import label_raw, with_gold_predicates
    from srl_plugin.hf import SemanticRoleLabeler
    from srl_plugin.hf.conll import read_conll2012

    dev = list(read_conll2012(str(split_path(spec["data"], "dev"))))[: spec["max_sentences"]]
    sentences = [sentence.words for sentence in dev]
    labeler = SemanticRoleLabeler.from_pretrained(
        spec["export"],
        batch_size=spec["batch_size"],
        runtime=spec["runtime"],
        precision=spec["precision"],
        threads=spec["threads"],
    )
    if spec["gold_predicates"]:
        with_gold_predicates(
            labeler, {tuple(s.words): s.frame_predicates for s in dev}  # type: ignore[misc]
        )
    profile = None
    if spec.get("profile"):
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    ((seconds, results),) = label_raw([labeler], sentences, spec["repeats"])
    if spec.get("profile"):
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(25)
        profile = text.getvalue()
    row: Dict[str, Any] = {
        "predicates": sum(len(r["verbs"]) for r in results),
        "seconds": seconds,
        "torch_threads": torch.get_num_threads(),
        "size_mib": model_size(spec, labeler) / 2**20,
        "frames": {
            f"{i} {v['predicate_indices']}": v["tags"]
            for i, result in enumerate(results)
            for v in result["verbs"]
        },
    }
    if spec["score"]:
        gold_given = labeler.predict_batch(
            [{"tokens": s.words, "predicates": s.frame_predicates} for s in dev if s.frames]
        )
        row.update(score(dev, results, gold_given))
    row["peak_rss_mib"] = peak_rss_mib()
    if profile:
        row["profile"] = profile
    return row


def peak_rss_mib() -> float:
    """
    This process's peak RSS since it started (loading, labelling, scoring): /proc's VmHWM, which
    exec resets (getrusage's ru_maxrss keeps the forking parent's peak), else ru_maxrss.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def model_size(spec: Dict[str, Any], labeler: Any) -> int:
    """Bytes on disk of what the configuration runs."""
    if spec["runtime"] == "onnxruntime":
        from srl_plugin.hf.checkpoints.onnx_export import read_manifest

        manifest = read_manifest(spec["export"], spec["precision"])
        folder = os.path.join(spec["export"], "onnx")
        return sum(
            os.path.getsize(os.path.join(folder, graph["files"][spec["precision"]]))
            for graph in manifest["graphs"].values()
        )
    if spec["precision"] == "fp32":
        from srl_plugin.hf.checkpoints.weights import weights_file

        return os.path.getsize(weights_file(spec["export"]))
    import torch

    buffer = io.BytesIO()
    torch.save(labeler.model.state_dict(), buffer)
    return buffer.tell()


def run_worker(spec: Dict[str, Any]) -> Dict[str, Any]:
    env = dict(os.environ, OMP_NUM_THREADS=str(spec["threads"]))
    result = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{spec['name']} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# allennlp-models' predictor path (the AllenNLP environment)


def upstream(args: argparse.Namespace, export: str, threads: int) -> Dict[str, Any]:
    """`benchmarks/shared_encoding.py`'s row of allennlp-models' predictor path."""
    with tempfile.TemporaryDirectory() as folder:
        output = os.path.join(folder, "upstream.json")
        command = [
            args.allennlp_python,
            str(REPO_ROOT / "benchmarks" / "shared_encoding.py"),
            "--export",
            f"0={export}",
            "--threads",
            str(threads),
            "--repeats",
            str(args.repeats),
            "--batch-size",
            str(args.batch_size),
            "--json",
            output,
        ]
        if args.max_sentences:
            command += ["--max-sentences", str(args.max_sentences)]
        if args.data:
            command += ["--data", args.data]
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        result = subprocess.run(command, capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise RuntimeError(f"allennlp-models' row failed:\n{result.stderr[-3000:]}")
        with open(output) as figures:
            (row,) = json.load(figures)
    return row


# The parent


def ensure_onnx(export: str) -> None:
    """Writes the export's ONNX form (fp32 and int8) where it has none."""
    from srl_plugin.hf.checkpoints.onnx_export import onnx_folder, write_onnx

    if not os.path.isdir(onnx_folder(export)):
        print(f"writing {onnx_folder(export)} (srl-onnx {export} --int8)", flush=True)
        write_onnx(export, int8=True)


def bert_base_export(like: str, fusion_layer: int, folder: str) -> str:
    """A BERT-base-sized random export (and its ONNX form) with `like`'s tokenizer and labels."""
    from benchmarks.shared_encoding import random_labeler
    from srl_plugin.hf.checkpoints.export import write_export
    from srl_plugin.hf.checkpoints.onnx_export import write_onnx
    from srl_plugin.hf.checkpoints.export import read_encoder_config
    from srl_plugin.hf.config import config_labels

    labels = config_labels(read_encoder_config(like, like))
    labeler = random_labeler(like, fusion_layer, True, labels, 64)
    target = os.path.join(folder, f"base{fusion_layer}")
    path = write_export(labeler.model, labeler.aligner, target, "# random BERT-base\n")
    write_onnx(path, int8=True)
    return path


def agreement(frames: Dict[str, List[str]], reference: Dict[str, List[str]]) -> float:
    """The share of word tags equal to the reference's, on the frames both found."""
    same = total = 0
    for key, tags in frames.items():
        if key in reference:
            same += sum(a == b for a, b in zip(tags, reference[key]))
            total += len(tags)
    return same / max(total, 1)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", action="append", default=[], help="FUSION_LAYER=EXPORT_DIR")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--data", help="default: dev of the shipped data/ewt_propbank_srl.tar.gz")
    parser.add_argument("--max-sentences", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--bert-base", action="store_true", help="add BERT-base random rows")
    parser.add_argument("--bert-base-fusion-layers", type=int, nargs="+", default=[0, 11])
    parser.add_argument("--bert-base-sentences", type=int, default=300)
    parser.add_argument(
        "--allennlp-python",
        default=str(REPO_ROOT / ".venv" / "bin" / "python"),
        help="the AllenNLP environment's python, for allennlp-models' row ('' to skip it)",
    )
    parser.add_argument("--profile", help="NAME of a row to profile (e.g. 'f=5 onnxruntime int8')")
    parser.add_argument("--json", help="write the rows here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return

    shown_args = sys.argv[1:] if argv is None else list(argv)
    print(f"$ python benchmarks/cpu_serving.py {' '.join(shown_args)}", flush=True)
    runs: List[Tuple[str, str, bool, Optional[int]]] = []
    for spec in args.export:
        layer, path = spec.split("=", 1)
        ensure_onnx(path)
        runs.append((f"f={layer}", path, False, args.max_sentences))
    scratch = tempfile.mkdtemp(prefix="cpu_serving.")
    try:
        if args.bert_base:
            like = runs[0][1]
            for layer in args.bert_base_fusion_layers:
                print(f"writing a random BERT-base export, f={layer}", flush=True)
                path = bert_base_export(like, layer, scratch)
                runs.append((f"base f={layer}", path, True, args.bert_base_sentences))
        rows = measure(args, runs)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report(args, rows)


def measure(
    args: argparse.Namespace, runs: Sequence[Tuple[str, str, bool, Optional[int]]]
) -> List[Dict[str, Any]]:
    rows = []
    for threads in args.threads:
        baseline = None
        if args.allennlp_python and runs:
            started = time.time()
            up = upstream(args, runs[0][1], threads)
            baseline = up["upstream_predicates_per_s"]
            rows.append(
                {
                    "name": "allennlp-models predictor (f=0 weights)",
                    "threads": threads,
                    "predicates_per_s": baseline,
                    "identical_tags": up["upstream_identical_tags"],
                    "torch_1_12_ours_predicates_per_s": up["predicates_per_s"],
                }
            )
            print(
                f"[{threads} thread(s)] allennlp-models: {baseline:.1f} predicates/s "
                f"({time.time() - started:.0f} s)",
                flush=True,
            )
        for model_name, export, random, sentences in runs:
            reference = None
            for runtime, precision in CONFIGS:
                name = f"{model_name} {runtime} {precision}"
                spec = {
                    "name": name,
                    "export": export,
                    "runtime": runtime,
                    "precision": precision,
                    "threads": threads,
                    "data": args.data,
                    "max_sentences": sentences,
                    "batch_size": args.batch_size,
                    "repeats": args.repeats,
                    "gold_predicates": random,
                    "score": not random and threads == args.threads[0],
                    "profile": args.profile == name,
                }
                row = run_worker(spec)
                frames = row.pop("frames")
                if reference is None:
                    reference = frames
                row.update(name=name, threads=threads, model=model_name, runtime=runtime)
                row.update(precision=precision, random=random)
                row["predicates_per_s"] = row["predicates"] / row["seconds"]
                row["tag_agreement_with_torch_fp32"] = agreement(frames, reference)
                if baseline and not random:
                    row["ratio"] = row["predicates_per_s"] / baseline
                rows.append(row)
                print(
                    f"[{threads} thread(s)] {name}: {row['predicates_per_s']:.1f} predicates/s"
                    + (f", profile:\n{row['profile']}" if "profile" in row else ""),
                    flush=True,
                )
    return rows


def report(args: argparse.Namespace, rows: List[Dict[str, Any]]) -> None:
    info = environment_info()
    print(f"\n{info['cpu']} ({info['usable_cpus']} usable CPUs), torch {info['torch']}")
    from srl_plugin.hf.predicates import F1

    # F1 is scored at the first thread count (the same frames at every count).
    scores = {
        (row["model"], row["runtime"], row["precision"]): (row["end_to_end_srl_f1"], row[F1])
        for row in rows
        if "end_to_end_srl_f1" in row
    }
    header = (
        "| model | runtime | precision | threads | predicates | predicates/s | vs allennlp-models"
        " | end-to-end F1 | pred F1 | tags = torch fp32 | peak RSS MiB | size MiB |"
    )
    print(header)
    print("|" + " --- |" * (header.count("|") - 1))
    for row in rows:
        if "model" not in row:
            print(
                f"| allennlp-models `SrlBert` + predictor | torch 1.12 | fp32 | {row['threads']} |"
                f" | {row['predicates_per_s']:.1f} | 1.00x | | | | | |"
            )
            continue
        f1, predicate_f1 = scores.get((row["model"], row["runtime"], row["precision"]), ("", ""))
        ratio = f"{row['ratio']:.2f}x" if "ratio" in row else ""
        print(
            f"| {row['model']}{' (random)' if row['random'] else ''} | {row['runtime']} |"
            f" {row['precision']} | {row['threads']} | {row['predicates']} |"
            f" {row['predicates_per_s']:.1f} | {ratio} |"
            f" {f1 and f'{f1:.4f}'} | {predicate_f1 and f'{predicate_f1:.4f}'} |"
            f" {row['tag_agreement_with_torch_fp32']:.4f} | {row['peak_rss_mib']:.0f} |"
            f" {row['size_mib']:.1f} |"
        )
    if args.json:
        with open(args.json, "w") as json_file:
            json.dump(rows, json_file, indent=2)


if __name__ == "__main__":
    main()
