"""
Training benchmark: srl_plugin's `hf_srl` against allennlp-models' `srl_bert`, in one run.

Both models are trained by `allennlp train`, one after the other, each in its own process, on the
same EWT PropBank subset, from the same checkpoint (all-MiniLM-L6-v2), with the same
hyperparameters (`training_configs/srl.jsonnet`, the counterpart of allennlp-models'
`bert_base_srl.jsonnet`), epochs and seeds. Printed side by side: training and validation
instances/s, peak memory and dev F1, with ratios ours/upstream. The data is the shipped
data/ewt_propbank_srl.tar.gz unless --data says otherwise.

    python benchmarks/train_vs_upstream.py --threads 1 --json runs/bench_train.json  # README
    python benchmarks/train_vs_upstream.py --train-sentences 200 --dev-sentences 100  # smoke run

How each figure is measured (identically for every run):

* training / validation time: a `benchmark_timer` trainer callback (defined here, added to both
  configs) wraps the trainer's `_train_epoch` and `_validation_loss`, so the times cover exactly
  the training epochs (batching, forward, backward, optimizer steps) and the validation passes
  (forward, decoding, span F1) - not process start, data reading, vocabulary or model loading,
  checkpointing or archiving. Instances are counted batch by batch in the same callback. CPU
  time (the process's and its finished children's, e.g. upstream's srl-eval.pl) is taken
  alongside: on a shared machine it is the steadier figure.
* peak memory: the maximum resident set size of the `allennlp train` process, from the
  `os.wait4` resource usage of that child alone.
* dev F1: `best_validation_f1-measure-overall` of `metrics.json` (span F1 equal to srl-eval.pl:
  upstream runs the perl script, ours a pure-Python reimplementation tested equal to it).
"""

import argparse
import datetime
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

# Runs from any directory: the repository root holds `srl_plugin` and `benchmarks`.
REPO_ROOT = str(Path(__file__).resolve().parents[1])
sys.path.insert(0, REPO_ROOT)

from benchmarks._common import (  # noqa: E402
    conll2012_folder,
    environment_info,
    minilm_checkpoint,
    setup_environment,
    shown,
)

# Both models train with this recipe's trainer (optimizer, schedule, clipping, checkpointing).
RECIPE = os.path.join(REPO_ROOT, "training_configs", "srl.jsonnet")
# The converted checkpoint's folder name contains "uncased": allennlp-models' `srl` reader
# lowercases words only when `bert_model_name` does, and MiniLM is uncased.
CONVERTED_NAME = "all-MiniLM-L6-v2-uncased"
TOKENIZER_FILES = (
    "config.json",
    "vocab.txt",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
)
CHILD_FLAG = "_train_child"
TIMINGS_FILE = "benchmark_timings.json"
RUNS = {
    "upstream": "upstream srl_bert",
    "ours_srl_only": "ours hf_srl (SRL only)",
    "ours": "ours hf_srl (default)",
}


# --------------------------------------------------------------------------------------------
# The child process: `allennlp train` with the timing callback registered.
# --------------------------------------------------------------------------------------------


def _batch_size(batch: Any) -> int:
    if isinstance(batch, dict):
        if "metadata" in batch:
            return len(batch["metadata"])
        for value in batch.values():
            size = _batch_size(value)
            if size:
                return size
        return 0
    size = getattr(batch, "size", None)
    return int(size(0)) if callable(size) else 0


def _cpu_seconds() -> float:
    # CPU time of all this process's threads and of its finished children (upstream's span
    # metric runs srl-eval.pl in a subprocess per batch): much less sensitive than wall time to
    # other load on the machine.
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _register_timer() -> None:
    import torch
    from allennlp.training.callbacks.callback import TrainerCallback

    @TrainerCallback.register("benchmark_timer")
    class BenchmarkTimer(TrainerCallback):
        """Times the trainer's training epochs and validation passes and counts their instances."""

        def on_start(self, trainer: Any, is_primary: bool = True, **kwargs: Any) -> None:
            self.timings: Dict[str, List[float]] = {
                f"{phase}_{figure}": []
                for phase in ("train", "validation")
                for figure in ("seconds", "cpu_seconds", "instances")
            }
            self._counts = {True: 0, False: 0}
            self.timings["torch_threads"] = [torch.get_num_threads()]
            trainer._train_epoch = self._timed(trainer._train_epoch, "train", True)
            trainer._validation_loss = self._timed(trainer._validation_loss, "validation", False)

        def _timed(self, method: Any, name: str, is_training: bool) -> Any:
            def timed(*args: Any, **kwargs: Any) -> Any:
                self._counts[is_training] = 0
                start, cpu_start = time.perf_counter(), _cpu_seconds()
                result = method(*args, **kwargs)
                self.timings[f"{name}_seconds"].append(time.perf_counter() - start)
                self.timings[f"{name}_cpu_seconds"].append(_cpu_seconds() - cpu_start)
                self.timings[f"{name}_instances"].append(self._counts[is_training])
                return result

            return timed

        def on_batch(
            self,
            trainer: Any,
            batch_inputs: List[Any],
            *args: Any,
            is_training: bool = True,
            **kwargs: Any,
        ) -> None:
            self._counts[is_training] += sum(_batch_size(batch) for batch in batch_inputs)

        def on_end(self, trainer: Any, *args: Any, **kwargs: Any) -> None:
            if torch.cuda.is_available():
                self.timings["cuda_peak_mb"] = [torch.cuda.max_memory_allocated() / 2**20]
            path = os.path.join(self.serialization_dir, TIMINGS_FILE)
            with open(path, "w", encoding="utf-8") as timings_file:
                json.dump(self.timings, timings_file, indent=2)


def _child_main(argv: List[str]) -> None:
    # `allennlp train ARGS...`, as the `allennlp` console script runs it.
    _register_timer()
    from allennlp.commands import main

    sys.argv = ["allennlp", "train"] + argv
    main(prog="allennlp")


# --------------------------------------------------------------------------------------------
# Data: the first sentences of each genre of the EWT PropBank CoNLL-2012 splits.
# --------------------------------------------------------------------------------------------


def train_and_dev(data: Optional[str]) -> str:
    """The `conll2012` folder (with `train/` and `dev/`) that `--data` names."""
    conll2012 = conll2012_folder(data)
    if not all(os.path.isdir(os.path.join(conll2012, split)) for split in ("train", "dev")):
        raise ValueError(f"--data {data!r}: {conll2012} needs both train/ and dev/")
    return str(conll2012)


def write_subset(split_dir: str, target: str, num_sentences: int) -> Dict[str, int]:
    """
    Writes the first sentences of each `*gold_conll` file (genre) of `split_dir`, `num_sentences`
    in all, shared out evenly, into `target` (same layout and lines, each document's sentences up
    to the cut). Returns the counts of files, sentences and frames written.
    """
    # Imported here: the package imports torch, which must wait for `setup_environment`.
    from srl_plugin.hf.conll import conll_files, read_conll2012, write_conll2012

    paths = conll_files(split_dir)
    sentences = [list(read_conll2012(path, keep_lines=True)) for path in paths]
    available = [len(file_sentences) for file_sentences in sentences]
    quotas = [0] * len(paths)
    while sum(quotas) < num_sentences and any(q < a for q, a in zip(quotas, available)):
        for i in range(len(paths)):
            if quotas[i] < available[i] and sum(quotas) < num_sentences:
                quotas[i] += 1
    counts = {"files": 0, "sentences": 0, "frames": 0}
    for path, file_sentences, quota in zip(paths, sentences, quotas):
        if quota == 0:
            continue
        taken = file_sentences[:quota]
        write_conll2012(taken, os.path.join(target, os.path.relpath(path, split_dir)))
        counts["files"] += 1
        counts["sentences"] += quota
        counts["frames"] += sum(len(sentence.frames) for sentence in taken)
    return counts


# --------------------------------------------------------------------------------------------
# Checkpoint: MiniLM from the installed package, converted once to pytorch_model.bin.
# --------------------------------------------------------------------------------------------


def convert_checkpoint(source: str, work_dir: str) -> str:
    """
    A copy of `source` with `pytorch_model.bin` instead of `model.safetensors` (transformers 4.20,
    which upstream loads with, cannot read safetensors). Both models train from this folder.
    """
    import torch

    from srl_plugin.hf.checkpoints.weights import read_safetensors

    target = os.path.join(work_dir, "checkpoint", CONVERTED_NAME)
    os.makedirs(target, exist_ok=True)
    for name in TOKENIZER_FILES:
        if os.path.isfile(os.path.join(source, name)):
            shutil.copy(os.path.join(source, name), target)
    state = read_safetensors(os.path.join(source, "model.safetensors"))
    torch.save(state, os.path.join(target, "pytorch_model.bin"))
    return target


# --------------------------------------------------------------------------------------------
# Configs: training_configs/srl.jsonnet for both models.
# --------------------------------------------------------------------------------------------


def build_config(
    run: str, bert: str, train: str, dev: str, args: argparse.Namespace
) -> Dict[str, Any]:
    """
    The recipe `training_configs/srl.jsonnet` with this run's data, checkpoint, batch size,
    epochs, device and seeds, and the `benchmark_timer` callback. Upstream keeps the recipe's
    trainer but reads and models with allennlp-models' `srl` and `srl_bert` (the same dropout on
    the encoder output), without our export.
    """
    from allennlp.common import Params

    overrides: Dict[str, Any] = {
        "data_loader.batch_sampler.batch_size": args.batch_size,
        "trainer.num_epochs": args.epochs,
        "trainer.cuda_device": args.cuda_device,
        "random_seed": args.seed,
        "numpy_seed": args.seed // 10,
        "pytorch_seed": args.seed // 100,
    }
    if run == "ours_srl_only":
        overrides["dataset_reader.predicate_instances"] = False
        overrides["model.predicate_head"] = False
    ext_vars = {"BERT_MODEL": bert, "SRL_TRAIN_DATA_PATH": train, "SRL_VALIDATION_DATA_PATH": dev}
    config = Params.from_file(RECIPE, params_overrides=overrides, ext_vars=ext_vars).as_dict()
    if run == "upstream":
        config["dataset_reader"] = {"type": "srl", "bert_model_name": bert}
        dropout = config["model"]["classifier_dropout"]
        config["model"] = {"type": "srl_bert", "bert_model": bert, "embedding_dropout": dropout}
        trainer = config["trainer"]
        trainer["callbacks"] = [c for c in trainer["callbacks"] if c["type"] != "hf_export"]
        del config["include_in_archive"]
    config["trainer"]["callbacks"].append({"type": "benchmark_timer"})
    return config


# --------------------------------------------------------------------------------------------
# Running and reporting.
# --------------------------------------------------------------------------------------------


def train_in_child(run: str, config: Dict[str, Any], work_dir: str) -> Dict[str, Any]:
    """Runs `allennlp train` on `config` in a child process; returns its measured figures."""
    run_dir = os.path.join(work_dir, run)
    os.makedirs(run_dir, exist_ok=True)
    config_path = os.path.join(run_dir, "config.json")
    with open(config_path, "w", encoding="utf-8") as config_file:
        json.dump(config, config_file, indent=2)
    serialization_dir = os.path.join(run_dir, "serialization")
    command = [sys.executable, os.path.abspath(__file__), CHILD_FLAG, config_path]
    command += ["-s", serialization_dir]
    if run != "upstream":
        command += ["--include-package", "srl_plugin"]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO_ROOT, env.get("PYTHONPATH")]))
    log_path = os.path.join(run_dir, "train.log")
    start = time.perf_counter()
    with open(log_path, "w", encoding="utf-8") as log:
        # cwd=run_dir: no `.allennlp_plugins` file is picked up; only ours imports srl_plugin.
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=run_dir, env=env
        )
        try:
            # wait4 gives this child's own resource usage (ru_maxrss in KiB on Linux).
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            process.kill()
            process.wait()
            raise
        process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if process.returncode != 0:
        with open(log_path, encoding="utf-8") as log:
            tail = log.read()[-4000:]
        raise RuntimeError(f"{RUNS[run]}: allennlp train failed ({log_path}):\n{tail}")
    with open(os.path.join(serialization_dir, TIMINGS_FILE), encoding="utf-8") as timings_file:
        timings = json.load(timings_file)
    with open(os.path.join(serialization_dir, "metrics.json"), encoding="utf-8") as metrics_file:
        metrics = json.load(metrics_file)
    result: Dict[str, Any] = {}
    for phase in ("train", "validation"):
        instances = sum(timings[f"{phase}_instances"])
        seconds = sum(timings[f"{phase}_seconds"])
        cpu_seconds = sum(timings[f"{phase}_cpu_seconds"])
        result[f"{phase}_instances"] = instances
        result[f"{phase}_seconds"] = seconds
        result[f"{phase}_instances_per_s"] = instances / seconds if seconds else None
        result[f"{phase}_cpu_seconds"] = cpu_seconds
        result[f"{phase}_instances_per_cpu_s"] = instances / cpu_seconds if cpu_seconds else None
    result.update(
        {
            "peak_rss_mb": usage.ru_maxrss / 1024,
            "process_cpu_seconds": usage.ru_utime + usage.ru_stime,
            "archive_mb": os.path.getsize(os.path.join(serialization_dir, "model.tar.gz")) / 2**20,
            "allennlp_peak_worker_0_memory_mb": metrics.get("peak_worker_0_memory_MB"),
            "dev_f1": metrics.get("best_validation_f1-measure-overall"),
            "dev_precision": metrics.get("best_validation_precision-overall"),
            "dev_recall": metrics.get("best_validation_recall-overall"),
            "process_wall_seconds": wall,
            "timings": timings,
            "metrics": metrics,
            "serialization_dir": serialization_dir,
        }
    )
    if "cuda_peak_mb" in timings:
        result["cuda_peak_mb"] = timings["cuda_peak_mb"][0]
    return result


def _format(value: Optional[float], digits: int) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


ROWS = (
    # key, label, digits, better ("higher"/"lower"/None: no target)
    ("train_instances", "training instances", 0, None),
    ("train_seconds", "training time (s)", 1, None),
    ("train_instances_per_s", "training instances/s", 2, "higher"),
    ("train_cpu_seconds", "training CPU time (s)", 1, None),
    ("train_instances_per_cpu_s", "training instances/CPU-s", 2, "higher"),
    ("validation_instances", "validation instances", 0, None),
    ("validation_seconds", "validation time (s)", 1, None),
    ("validation_instances_per_s", "validation instances/s", 2, "higher"),
    ("validation_cpu_seconds", "validation CPU time (s)", 1, None),
    ("validation_instances_per_cpu_s", "validation instances/CPU-s", 2, "higher"),
    ("peak_rss_mb", "peak RSS of allennlp train (MiB)", 0, "lower"),
    ("cuda_peak_mb", "peak CUDA memory (MiB)", 0, "lower"),
    ("dev_f1", "dev F1 (span, srl-eval)", 4, "higher"),
    ("process_wall_seconds", "allennlp train wall time (s)", 1, None),
    ("process_cpu_seconds", "allennlp train CPU time (s)", 1, None),
    ("archive_mb", "model.tar.gz size (MiB)", 0, None),
)


def render_table(results: Dict[str, Dict[str, Any]]) -> str:
    runs = [run for run in RUNS if run in results]
    upstream = results.get("upstream")
    header = ["", RUNS["upstream"]] if upstream else [""]
    for run in runs:
        if run == "upstream":
            continue
        header.append(RUNS[run])
        if upstream:
            header.append("ours/upstream")
    lines = [header]
    verdicts = []
    for key, label, digits, better in ROWS:
        if not any(results[run].get(key) is not None for run in runs):
            continue
        row = [label]
        if upstream:
            row.append(_format(upstream.get(key), digits))
        for run in runs:
            if run == "upstream":
                continue
            value = results[run].get(key)
            row.append(_format(value, digits))
            if upstream:
                base = upstream.get(key)
                ratio = value / base if value is not None and base else None
                row.append(_format(ratio, 3))
                if better and value is not None and base is not None:
                    met = value >= base if better == "higher" else value <= base
                    verdicts.append(
                        f"{RUNS[run]}: {label} {'no worse than' if met else 'WORSE than'} upstream"
                    )
        lines.append(row)
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    text = []
    for number, row in enumerate(lines):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        text.append("| " + " | ".join(cells) + " |")
        if number == 0:
            text.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(text + [""] + verdicts)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Train srl_plugin's hf_srl and allennlp-models' srl_bert on the same EWT "
        "subset, checkpoint (all-MiniLM-L6-v2) and recipe; print training and validation "
        "instances/s, peak memory and dev F1 side by side.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--data",
        help="an EWT PropBank conll2012 folder (with train/ and dev/) or a .tar.gz of one; "
        "default: the shipped data/ewt_propbank_srl.tar.gz",
    )
    parser.add_argument("--train-sentences", type=int, default=2000, help="training sentences")
    parser.add_argument("--dev-sentences", type=int, default=500, help="dev sentences")
    parser.add_argument("--epochs", type=int, default=1, help="num_epochs of both runs")
    parser.add_argument("--batch-size", type=int, default=32, help="bucket batch size")
    parser.add_argument(
        "--seed",
        type=int,
        default=13370,
        help="random_seed; numpy_seed and pytorch_seed are it/10 "
        "and it/100 (AllenNLP's defaults)",
    )
    parser.add_argument("--cuda-device", type=int, default=-1, help="trainer cuda_device")
    parser.add_argument(
        "--threads",
        type=int,
        help="torch CPU threads of both trainings (OMP_NUM_THREADS); default torch's own choice",
    )
    parser.add_argument(
        "--runs",
        nargs="+",
        choices=list(RUNS),
        default=list(RUNS),
        help="which trainings to run: upstream srl_bert; ours without the predicate head (reader "
        "predicate_instances and model predicate_head false: the same instances as upstream); "
        "ours as configured by default (plus one predicate-identification instance per sentence)",
    )
    parser.add_argument(
        "--no-predicate-head",
        action="store_true",
        help="shorthand for --runs upstream ours_srl_only (the like-for-like comparison only)",
    )
    parser.add_argument("--work-dir", help="keep data, checkpoint, logs and models here")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.no_predicate_head:
        args.runs = ["upstream", "ours_srl_only"]
    if args.train_sentences < 1 or args.dev_sentences < 1:
        parser.error("--train-sentences and --dev-sentences must be at least 1")
    return args


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    args = parse_args(argv)
    arguments = sys.argv[1:] if argv is None else argv
    command = "python benchmarks/train_vs_upstream.py " + " ".join(map(shlex.quote, arguments))
    # The trainings inherit the offline settings and --threads (OMP_NUM_THREADS).
    setup_environment(args.threads)
    work_dir = args.work_dir or tempfile.mkdtemp(prefix="train_vs_upstream.")
    os.makedirs(work_dir, exist_ok=True)
    try:
        env = environment_info()
        print(f"command: {command}")
        print("environment: " + ", ".join(f"{k}={v}" for k, v in env.items()))
        conll2012 = train_and_dev(args.data)
        data = {}
        for split, count in (("train", args.train_sentences), ("dev", args.dev_sentences)):
            data[split] = write_subset(
                os.path.join(conll2012, split), os.path.join(work_dir, "data", split), count
            )
            data[split]["path"] = os.path.join(work_dir, "data", split)
            print(
                f"{split} subset: {data[split]['sentences']} sentences, {data[split]['frames']} "
                f"frames, the first of each of {data[split]['files']} genres of "
                f"{shown(conll2012)}/{split}"
            )
        checkpoint, digest = minilm_checkpoint()
        source = str(checkpoint)
        bert = convert_checkpoint(source, work_dir)
        print(
            f"checkpoint: {source} (sha256 {digest[:16]}...), converted to pytorch_model.bin in "
            f"{bert}; both models train from that same folder (its name contains 'uncased' so "
            "that upstream's reader lowercases, as MiniLM's tokenizer does and ours reads from "
            "tokenizer_config.json)"
        )
        load_before = os.getloadavg()
        results: Dict[str, Dict[str, Any]] = {}
        for number, run in enumerate([run for run in RUNS if run in args.runs], start=1):
            config = build_config(run, bert, data["train"]["path"], data["dev"]["path"], args)
            started = datetime.datetime.now().strftime("%H:%M:%S")
            print(
                f"[{number}/{len(args.runs)}] {started} allennlp train: {RUNS[run]} ...", flush=True
            )
            results[run] = train_in_child(run, config, work_dir)
            print(
                f"      done in {results[run]['process_wall_seconds']:.0f} s "
                f"(dev F1 {_format(results[run]['dev_f1'], 4)})",
                flush=True,
            )
        load_after = os.getloadavg()
        print()
        print(
            f"{args.epochs} epoch(s), batch size {args.batch_size}, seeds {args.seed}/"
            f"{args.seed // 10}/{args.seed // 100}; load average before {load_before[0]:.2f}, "
            f"after {load_after[0]:.2f} (1 min)"
        )
        threads = sorted({result["timings"]["torch_threads"][0] for result in results.values()})
        print(f"torch threads of the trainings: {', '.join(map(str, threads))}")
        print(render_table(results))
        report = {
            "command": command,
            "environment": env,
            "arguments": vars(args),
            "data": data,
            "checkpoint": {"source": source, "sha256": digest, "converted": bert},
            "load_average": {"before": load_before, "after": load_after},
            "results": results,
        }
        if args.json:
            with open(args.json, "w", encoding="utf-8") as json_file:
                json.dump(report, json_file, indent=2)
            print(f"results written to {args.json}")
        return report
    finally:
        if not args.work_dir:
            shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == CHILD_FLAG:
        _child_main(sys.argv[2:])
    else:
        main()
