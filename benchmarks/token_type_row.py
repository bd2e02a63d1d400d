"""
How the predicate marker's token-type row should start, measured on all-MiniLM-L6-v2: its
pretrained row 1 replaced by each option, then the demo recipe (one epoch) and its dev F1.

RoBERTa, XLM-R and DeBERTa-v3 checkpoints have no second token-type row, so training starts one
(`grow_token_type_embeddings`); without those checkpoints at hand, MiniLM (BERT, two rows) stands
in: row 1 becomes N(0, 0.02) (our choice), stays BERT's own pretrained row, or becomes a copy of
row 0 (no signal at all). Each option is one `allennlp train training_configs/demo.jsonnet` run on
a copy of the checkpoint whose `model.safetensors` carries that row, same data, budget and seed.

Usage:
    python benchmarks/token_type_row.py [--train-instances 3000] [--validation-instances 1500]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import conll2012_folder, minilm_checkpoint, setup_environment  # noqa: E402

NAME = "embeddings.token_type_embeddings.weight"


def patched_checkpoint(source: Path, option: str, target: str) -> str:
    """A copy of `source` whose token-type row 1 is started as `option`."""
    import torch

    from srl_plugin.hf.weights import read_safetensors, write_safetensors

    shutil.copytree(source, target)
    weights = os.path.join(target, "model.safetensors")
    state = read_safetensors(weights)
    name = next(key for key in state if key.endswith(NAME))
    table = state[name].clone()
    if option == "normal":
        generator = torch.Generator().manual_seed(0)
        table[1] = torch.randn(table.size(1), generator=generator) * 0.02
    elif option == "row0":
        table[1] = table[0]
    state[name] = table
    write_safetensors(state, weights)
    return target


def train(checkpoint: str, output: str, train_instances: int, validation_instances: int) -> Dict:
    data = conll2012_folder()
    env = dict(
        os.environ,
        SRL_TRAIN_DATA_PATH=str(data / "train"),
        SRL_VALIDATION_DATA_PATH=str(data / "dev"),
        BERT_MODEL=checkpoint,
        DEMO_TRAIN_INSTANCES=str(train_instances),
        DEMO_VALIDATION_INSTANCES=str(validation_instances),
        PYTHONPATH=str(ROOT),
    )
    command = [
        sys.executable, "-m", "allennlp.__main__", "train", "training_configs/demo.jsonnet",
        "-s", output, "--include-package", "srl_plugin", "--file-friendly-logging",
    ]  # fmt: skip
    with open(output + ".log", "w") as log:
        subprocess.run(command, env=env, cwd=str(ROOT), stdout=log, stderr=log, check=True)
    return json.loads(Path(output, "metrics.json").read_text())


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-instances", type=int, default=3000)
    parser.add_argument("--validation-instances", type=int, default=1500)
    parser.add_argument("--options", nargs="+", default=["normal", "pretrained", "row0"])
    args = parser.parse_args(argv)
    setup_environment()
    checkpoint, _ = minilm_checkpoint()
    names = {
        "normal": "N(0, 0.02) (our choice)",
        "pretrained": "BERT's own pretrained row 1",
        "row0": "a copy of row 0",
    }
    print(f"MiniLM, {args.train_instances} training instances, 1 epoch, "
          f"{args.validation_instances} dev instances, one seed")  # fmt: skip
    print("| new predicate row | dev SRL F1 | predicate F1 |\n| --- | --- | --- |")
    with tempfile.TemporaryDirectory() as work:
        for option in args.options:
            folder = patched_checkpoint(checkpoint, option, os.path.join(work, option))
            metrics = train(
                folder, os.path.join(work, f"run-{option}"), args.train_instances,
                args.validation_instances,
            )  # fmt: skip
            print(
                f"| {names[option]} | {metrics['best_validation_f1-measure-overall']:.3f} "
                f"| {metrics['best_validation_predicate-f1']:.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
