"""
The README's demo, end to end on the shipped data and the real all-MiniLM-L6-v2 checkpoint:

1. `allennlp train training_configs/demo.jsonnet` fine-tunes SRL from MiniLM on English Web
   Treebank PropBank (shipped in data/, CC BY-SA 4.0) and prints the dev F1;
2. the run leaves both serializations: runs/demo/model.tar.gz and runs/demo/hf_model/;
3. the export is reloaded with plain `BertForTokenClassification.from_pretrained`, and the
   plugin's labeler prints the SRL frames of a few sentences.

While it trains, the terminal shows the epoch, the batches done and the loss; the whole training
log goes to runs/demo-train.log.

Usage: python scripts/demo.py [--train-instances N] [--output runs/demo] [--config ...] [--overrides JSON]
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, TextIO

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import (  # noqa: E402
    MINILM_SHA256_PREFIX,
    extract_data,
    minilm_checkpoint,
    setup_environment,
    shown,
)

SENTENCES = [
    "The committee approved the new budget after a long debate .",
    "She gave her brother a book for his birthday .",
    "I do n't think the store will reopen before Monday .",
    "Their decision to leave surprised everyone .",
]


class TrainingProgress:
    """
    Follows the output of `allennlp train --file-friendly-logging` and shows one short line of
    progress: the instances read, then per epoch the phase (training, validating), the batches
    done, the loss and, while validating, the span F1. On a terminal the line is rewritten in
    place; elsewhere (a pipe, a CI log) a line is printed every `interval` seconds and at the end
    of each phase.
    """

    # tqdm's line: "precision-overall: 0.31, ..., loss: 1.58 ||: 45%|####5  | 150/333 [00:30<00:40, ...]"
    BATCHES = re.compile(
        r"loss: (?P<loss>[\d.]+) \|\|: +\d+%\|[^|]*\| (?P<done>\d+)/(?P<total>\d+)"
    )
    TIMES = re.compile(r"\[(?P<elapsed>[\d:]+)<(?P<left>[\d:?]+)")
    F1 = re.compile(r"f1-measure-overall: (?P<f1>[\d.]+)")
    # The trainer's log lines; "Epoch 0/5" is the first of six epochs.
    EPOCH = re.compile(r"gradient_descent_trainer - Epoch (?P<epoch>\d+)/(?P<last>\d+)$")
    PHASE = re.compile(r"gradient_descent_trainer - (?P<phase>Training|Validating)$")
    LOADING = re.compile(r"^loading instances: (?P<count>\d+)it")

    def __init__(self, stream: TextIO, interval: float = 15.0) -> None:
        self.stream = stream
        self.interactive = stream.isatty()
        self.interval = interval
        self.epoch = ""
        self.phase = ""
        self.shown = ""
        self.last_print = 0.0

    def feed(self, line: str) -> None:
        line = line.rstrip()
        for pattern in (self.EPOCH, self.PHASE, self.LOADING, self.BATCHES):
            match = pattern.search(line)
            if match:
                break
        else:
            return
        fields: Dict[str, str] = match.groupdict()
        if "epoch" in fields:
            self.epoch = f"epoch {int(fields['epoch']) + 1}/{int(fields['last']) + 1}"
        elif "phase" in fields:
            self.phase = fields["phase"].lower()
        elif "count" in fields:
            if fields["count"] == "0":
                return
            self._show(f"reading data: {fields['count']} instances", final=False)
        else:
            done, total = int(fields["done"]), int(fields["total"])
            text = f"{self.epoch} {self.phase:<10} {done:>5}/{total} batches  loss {fields['loss']}"
            f1 = self.F1.search(line)
            if self.phase == "validating" and f1:
                text += f"  span F1 {f1['f1']}"
            times = self.TIMES.search(line)
            if times:
                text += f"  ({times['elapsed']} elapsed, {times['left']} left)"
            self._show(text, final=done == total)

    def _show(self, text: str, final: bool) -> None:
        if self.interactive:
            self.stream.write("\r" + text.ljust(len(self.shown)) + ("\n" if final else ""))
            self.shown = "" if final else text
        elif final or time.monotonic() - self.last_print >= self.interval:
            self.stream.write(text + "\n")
            self.last_print = time.monotonic()
        self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.shown = ""


def train(
    command: List[str],
    env: Dict[str, str],
    log: Path,
    stream: Optional[TextIO] = None,
    append: bool = False,
) -> int:
    """
    Runs `command`: its whole output into the file `log` (after what it holds with `append`), its
    progress onto `stream`.
    """
    progress = TrainingProgress(stream or sys.stdout)
    with open(log, "a" if append else "w", encoding="utf-8") as log_file:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
        )
        assert process.stdout is not None
        with process.stdout:
            for line in process.stdout:
                log_file.write(line)
                progress.feed(line)
        progress.close()
    return process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-instances", type=int, default=6000)
    parser.add_argument("--validation-instances", type=int, default=100000, help="default: all dev")
    parser.add_argument("--output", type=Path, default=ROOT / "runs" / "demo")
    parser.add_argument(
        "--config",
        type=Path,
        default=Path("training_configs/demo.jsonnet"),
        help="training_configs/ewt.jsonnet trains on all of EWT train (make ewt-model)",
    )
    parser.add_argument(
        "--recover",
        action="store_true",
        help="go on with an interrupted run in --output (allennlp train --recover) rather than "
        "start it afresh",
    )
    parser.add_argument(
        "--overrides",
        default="",
        help="allennlp train's -o, e.g. '{\"model.sense_head\": false}' (the same run without senses)",
    )
    args = parser.parse_args()

    setup_environment()
    try:
        checkpoint, _ = minilm_checkpoint()
    except ValueError as error:
        sys.exit(str(error))
    data = extract_data()
    print(f"checkpoint: {checkpoint} (sha256 {MINILM_SHA256_PREFIX}...)")
    print(f"data: {shown(data)} (EWT PropBank, CC BY-SA 4.0, from data/ewt_propbank_srl.tar.gz)")
    env = dict(
        os.environ,
        SRL_TRAIN_DATA_PATH=str(data / "train"),
        SRL_VALIDATION_DATA_PATH=str(data / "dev"),
        BERT_MODEL=str(checkpoint),
        DEMO_TRAIN_INSTANCES=str(args.train_instances),
        DEMO_VALIDATION_INSTANCES=str(args.validation_instances),
    )
    command = [
        sys.executable, "-m", "allennlp.__main__", "train", str(args.config),
        "-s", str(args.output), "--recover" if args.recover else "--force",
        "--include-package", "srl_plugin", "--file-friendly-logging",
    ]  # fmt: skip
    if args.overrides:
        command += ["--overrides", args.overrides]
    print("$ python", " ".join(command[1:]), flush=True)
    started = time.time()
    log_path = args.output.parent / f"{args.output.name}-train.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"training; the full log goes to {shown(log_path)}", flush=True)
    if train(command, env, log_path, append=args.recover) != 0:
        sys.exit(f"training failed; see {shown(log_path)}")
    metrics = json.loads((args.output / "metrics.json").read_text())
    print(f"trained in {time.time() - started:.0f} s (log: {shown(log_path)})")
    print(
        "dev F1 {:.3f} (P {:.3f}, R {:.3f}); predicate identification F1 {:.3f}".format(
            metrics["best_validation_f1-measure-overall"],
            metrics["best_validation_precision-overall"],
            metrics["best_validation_recall-overall"],
            metrics.get("best_validation_predicate-f1", float("nan")),
        )
    )
    if "best_validation_sense_accuracy" in metrics:
        print(
            "sense accuracy {:.3f} on gold predicates; predicate+sense F1 {:.3f}".format(
                metrics["best_validation_sense_accuracy"],
                metrics["best_validation_predicate_sense_f1"],
            )
        )
    print(f"AllenNLP archive: {shown(args.output / 'model.tar.gz')}")
    print(f"Hugging Face export: {shown(args.output / 'hf_model')}")
    show_frames(args.output / "hf_model")


def show_frames(export: Path) -> None:
    """Frames from the export loaded by plain transformers, decoded by the plugin's decoder."""
    import torch
    from safetensors.torch import load_file
    from transformers import BertForTokenClassification

    from srl_plugin.hf import SemanticRoleLabeler
    from srl_plugin.hf.frames import wordpiece_frame
    from srl_plugin.hf.outputs import frame_result
    from srl_plugin.hf.tagging import tag_frames

    # transformers 4.20 reads no model.safetensors itself: it is given the state dict.
    model, info = BertForTokenClassification.from_pretrained(
        None,
        config=str(export),
        state_dict=load_file(str(export / "model.safetensors")),
        output_loading_info=True,
    )
    model.eval()
    print(
        f"\nBertForTokenClassification.from_pretrained({export}, state_dict=model.safetensors): "
        f"{model.num_labels} labels, "
        f"missing weights: {list(info['missing_keys']) or 'none'}, "
        f"unused: {list(info['unexpected_keys'])} (the predicate head)"
    )
    labels = [model.config.id2label[i] for i in range(model.num_labels)]
    # The predicate head is not part of BertForTokenClassification: the plugin's labeler finds them.
    labeler = SemanticRoleLabeler.from_pretrained(str(export))
    for sentence, request in zip(SENTENCES, labeler.predict_batch(SENTENCES)):
        print(f"\n{sentence}")
        words = request["words"]
        for verb in request["verbs"]:
            frame = wordpiece_frame(labeler.aligner, words, verb["predicate_indices"], 512)
            with torch.no_grad():
                logits = model(
                    input_ids=torch.tensor([frame.input_ids]),
                    token_type_ids=torch.tensor([frame.token_type_ids]),
                ).logits
            # The plugin's one output path of the tagger, on the stock class's logits.
            tags = tag_frames(logits, [frame], [len(words)], labels)[0].tags
            assert tags == verb["tags"], "plain transformers and the labeler disagree"
            result = frame_result(words, verb["predicate_indices"], tags)
            print(f"  {result['description']}")
            if "roleset" in verb:  # the sense head's roleset and the roles' meanings
                print(f"    {sense_line(verb)}")


def sense_line(verb: Dict[str, Any]) -> str:
    """`approve.01 "approve, accept" (0.97): ARG0 approver = The committee; ...`"""
    line = verb["roleset"]
    if verb.get("roleset_name"):
        line += f' "{verb["roleset_name"]}"'
    line += f" ({verb['sense_score']:.2f})" if "sense_score" in verb else " (not from the model)"
    described = [
        f"{a['role']} {a['role_description']} = {a['text']}"
        for a in verb["arguments"]
        if a.get("role_description")
    ]
    return line + (": " + "; ".join(described) if described else "")


if __name__ == "__main__":
    main()
