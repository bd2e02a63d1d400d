"""
The command lines in subprocesses, as a user runs them: `allennlp` on the tiny config, and
`srl-label` stopped by a signal.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from tests import EWT_SAMPLE, FIXTURES_ROOT, PROJECT_ROOT

TINY_CONFIG = FIXTURES_ROOT / "tiny_srl.jsonnet"


def tiny_config_vars(checkpoint: str) -> Dict[str, str]:
    """The extVars of `tests/fixtures/tiny_srl.jsonnet`: the EWT sample and `checkpoint`."""
    return {
        "SRL_TRAIN_DATA_PATH": str(EWT_SAMPLE),
        "SRL_VALIDATION_DATA_PATH": str(EWT_SAMPLE),
        "BERT_MODEL": checkpoint,
    }


def allennlp_command(
    *args: str, cwd: str = str(PROJECT_ROOT), env: Optional[Dict[str, str]] = None
) -> subprocess.CompletedProcess:
    """Runs `allennlp ARGS --include-package srl_plugin` in a subprocess; returns the result."""
    # One thread: tiny models run several times faster than with threads fighting for 2 cores.
    full_env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS="1")
    full_env.update(env or {})
    command = [sys.executable, "-m", "allennlp.__main__", *args, "--include-package", "srl_plugin"]
    return subprocess.run(command, cwd=cwd, env=full_env, capture_output=True, text=True)


def train_tiny(
    checkpoint: str, output: str, overrides: str = "", extra_env: Optional[Dict[str, str]] = None
) -> subprocess.CompletedProcess:
    """`allennlp train tests/fixtures/tiny_srl.jsonnet` on the EWT sample from `checkpoint`."""
    env = {**tiny_config_vars(checkpoint), **(extra_env or {})}
    args = ["train", str(TINY_CONFIG), "-s", output]
    if overrides:
        args += ["-o", overrides]
    return allennlp_command(*args, env=env)


def allennlp_predict(archive: Path, input_file: Path, output_file: Path, *args: str) -> List[Any]:
    """`allennlp predict ARCHIVE INPUT --silent ARGS`; the JSON lines it wrote (it must succeed)."""
    result = allennlp_command(
        "predict",
        str(archive),
        str(input_file),
        "--output-file",
        str(output_file),
        "--silent",
        *args,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return [json.loads(line) for line in output_file.read_text().splitlines()]


def predict_frames(
    archive: Path, frames: Sequence[Any], folder: Path, *args: str
) -> Tuple[List[Dict[str, Any]], List[Any]]:
    """
    `allennlp predict ARCHIVE` on `frames` (instances of the archive's reader, one predicate
    each) given as JSON lines of words and predicate, written to FOLDER/frames.jsonl; returns
    the lines and what `allennlp_predict` read back (FOLDER/predicted.jsonl).
    """
    lines = [
        {"tokens": i["metadata"]["words"], "predicates": [i["metadata"]["predicate_indices"]]}
        for i in frames
    ]
    input_file = folder / "frames.jsonl"
    input_file.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return lines, allennlp_predict(archive, input_file, folder / "predicted.jsonl", *args)


def interrupted_srl_label(args: List[Any], output: Path, size: float) -> str:
    """
    Runs `srl-label ARGS -o OUTPUT` (this checkout's module, one thread), sends it SIGTERM once
    OUTPUT holds `size` bytes, checks that it stopped as interrupted (exit 130) and returns its
    stderr.
    """
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT), OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "srl_plugin.hf.cli.label", *map(str, args), "-o", str(output)]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, cwd=str(PROJECT_ROOT))
    deadline = time.time() + 120
    while time.time() < deadline and (not output.exists() or output.stat().st_size < size):
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr.decode()
    return stderr.decode()
