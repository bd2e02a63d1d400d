"""
Every console script, run as installed (the environment's `bin/` folder, as a user runs it):
`--help` works, and bad input or a bad export is one line on stderr and exit status 2, without a
traceback (`srl_plugin.hf.cli.options`). Runs in every environment: without AllenNLP,
`srl-export`/`srl-import` say so the same way; without Ray, so does the Ray command. The Ray
command's `main` labels a file as `srl-label` does (modern environment, which has Ray).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
SCRIPTS = ["srl-label", "srl-fit-predicates", "srl-export", "srl-import", "srl-onnx"]
RAY_COMMAND = [sys.executable, "-m", "srl_plugin.hf.cli.ray"]


def run(command, cwd):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run(command, cwd=str(cwd), env=env, capture_output=True, text=True)


def command_of(script):
    if script == "ray":
        return RAY_COMMAND
    path = BIN / script
    assert path.is_file(), f"{script} is not installed in {BIN} (pip install -e .)"
    return [str(path)]


@pytest.mark.parametrize("script", SCRIPTS + ["ray"])
def test_console_script_runs(script, tmp_path):
    result = run(command_of(script) + ["--help"], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage:" in result.stdout


@pytest.mark.parametrize(
    "script, args, message",
    [
        ("srl-label", ["nowhere", "input.txt"], "cannot load the export"),
        ("srl-label", [], "the following arguments are required"),
        ("srl-label", ["export", "input.txt", "--batch-size", "0"], "must be positive, not 0"),
        ("srl-fit-predicates", ["nowhere", "data.conll", "--output", "out"], "no such"),
        ("srl-export", ["missing.tar.gz", "out"], ""),
        ("srl-import", ["nowhere", "out.tar.gz"], ""),
        ("srl-onnx", ["nowhere"], "'nowhere' is not an export folder"),
        ("srl-label", ["export", "input.txt", "--runtime", "tvm"], "invalid choice: 'tvm'"),
        ("ray", ["nowhere", "input.txt", "out"], ""),
    ],
)
def test_bad_input_is_one_line_and_exit_2(script, args, message, tmp_path):
    (tmp_path / "input.txt").write_text("A sentence .\n")
    result = run(command_of(script) + args, tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    prog = "python -m srl_plugin.hf.cli.ray" if script == "ray" else script
    # One line, naming the program and what is wrong (other lines are library log noise).
    errors = [line for line in lines if line.startswith(f"{prog}: error: ")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.tar.gz").exists()


@pytest.mark.modern
def test_ray_command_labels_like_srl_label(tmp_path):
    pytest.importorskip("ray")  # the `ray` extra: installed in .venv-hf5 by the Makefile
    fixture = os.environ.get("SRL_PLUGIN_MODERN_FIXTURE", "")
    export = os.path.join(fixture, "export")
    if not os.path.isfile(os.path.join(export, "config.json")):
        pytest.fail(f"no export at SRL_PLUGIN_MODERN_FIXTURE={fixture!r}: run the AllenNLP tests")
    from tests.conll import read_conll_sentences
    from tests import EWT_SAMPLE

    lines = [" ".join(words) for words, _ in read_conll_sentences(str(EWT_SAMPLE))][:40]
    text = tmp_path / "input.txt"
    text.write_text("\n".join(lines + ["\x00"]) + "\n", encoding="utf-8")
    env_threads = ["--cpus-per-worker", "1", "--chunk-size", "16"]
    result = run(RAY_COMMAND + [export, str(text), str(tmp_path / "out")] + env_threads, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    written = [
        line
        for path in sorted((tmp_path / "out").iterdir())
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    single = run(
        [str(BIN / "srl-label"), export, str(text), "-o", str(tmp_path / "one.jsonl")], tmp_path
    )
    assert single.returncode == 0, single.stderr[-2000:]
    expected = (tmp_path / "one.jsonl").read_text(encoding="utf-8").splitlines()
    # Ray's output files may come in any order; the lines are the same.
    assert len(written) == len(lines) + 1
    assert sorted(written) == sorted(expected)
    assert sum('"error"' in line for line in written) == 1
