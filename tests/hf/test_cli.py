"""`srl-label`: text, JSONL and stdin in; bad lines answered in place; interrupted runs resumed."""

import json
import os
import subprocess
import sys

import pytest

from tests import EWT_SAMPLE, PROJECT_ROOT
from tests.cli import interrupted_srl_label
from tests.conll import read_conll_sentences


def srl_label(*args, stdin=None, **kwargs):
    """`srl-label ARGS` in a subprocess (the module behind the console script, this checkout)."""
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT), OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "srl_plugin.hf.cli.label", *map(str, args)]
    return subprocess.run(
        command, input=stdin, capture_output=True, env=env, cwd=str(PROJECT_ROOT), **kwargs
    )


def json_lines(data: bytes):
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


@pytest.fixture(scope="module")
def sentences():
    return [" ".join(words) for words, _ in read_conll_sentences(str(EWT_SAMPLE))][:60]


def test_text_jsonl_and_stdin_give_the_labelers_results(labeler, tiny_export, sentences, tmp_path):
    text = tmp_path / "input.txt"
    text.write_text("\n".join(sentences) + "\n", encoding="utf-8")
    jsonl = tmp_path / "input.jsonl"
    jsonl.write_text("".join(json.dumps({"sentence": s}) + "\n" for s in sentences))
    expected = labeler.predict_batch(sentences)
    for source, stdin in ((text, None), (jsonl, None), ("-", text.read_bytes())):
        result = srl_label(
            tiny_export, source, "--chunk-size", "7", "--batch-size", "5", stdin=stdin
        )
        assert result.returncode == 0, result.stderr.decode()[-2000:]
        # Not a terminal: no progress bar, no summary.
        assert b" lines" not in result.stderr and b"lines/s" not in result.stderr
        outputs = json_lines(result.stdout)
        assert len(outputs) == len(sentences)
        for output, wanted in zip(outputs, expected):
            assert output["words"] == wanted["words"]
            assert output["word_offsets"] == wanted["word_offsets"]
            assert [v["tags"] for v in output["verbs"]] == [v["tags"] for v in wanted["verbs"]]
    # Labelled at all: the tiny model finds predicates.
    assert sum(len(o["verbs"]) for o in outputs) > 20


def test_bad_lines_are_answered_in_place(tiny_export, tmp_path):
    lines = [
        json.dumps({"sentence": "The man said it ."}).encode(),
        b"this is not json",
        b"[1, 2]",
        json.dumps({"sentence": "   "}).encode(),
        json.dumps({"tokens": ["a", "b"], "predicates": [5]}).encode(),
        b'{"sentence": "caf\xe9 latin-1"}',
        json.dumps({"tokens": ["I", "want", "to", "go"], "predicates": [1, 3]}).encode(),
        b"",
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = srl_label(tiny_export, path, "-o", tmp_path / "out.jsonl")
    assert result.returncode == 0, result.stderr.decode()
    outputs = json_lines((tmp_path / "out.jsonl").read_bytes())
    assert len(outputs) == len(lines)
    errors = {i: o["error"] for i, o in enumerate(outputs) if "error" in o}
    assert sorted(errors) == [1, 2, 3, 4, 5, 7]
    assert "not valid JSON" in errors[1] and outputs[1]["input"] == "this is not json"
    assert "must be a JSON object, not list" in errors[2]
    assert "empty" in errors[3] and "predicate index 5 is outside" in errors[4]
    assert "not valid UTF-8 (byte 0xe9" in errors[5] and "latin-1" in outputs[5]["input"]
    assert [v["verb"] for v in outputs[6]["verbs"]] == ["want", "go"]
    assert outputs[0]["words"] == ["The", "man", "said", "it", "."]


def test_usage_errors_are_one_line(tiny_export, tmp_path):
    text = tmp_path / "input.txt"
    text.write_text("A sentence .\n")
    cases = [
        ((tmp_path / "nowhere", text), "cannot load the export"),
        ((tiny_export, tmp_path / "missing.txt"), "is not a file"),
        ((tiny_export, text, "--dtype", "bf16", "--device", "cpu"), "needs a CUDA device"),
        ((tiny_export, text, "--resume"), "--resume needs --format jsonl and an output file"),
        ((tiny_export, text, "--batch-size", "0"), "--batch-size: must be positive, not 0"),
    ]
    for args, message in cases:
        result = srl_label(*args)
        assert result.returncode == 2
        stderr = result.stderr.decode()
        assert message in stderr and "Traceback" not in stderr, stderr
        # One line of ours (others may be library warnings printed on import).
        assert [line for line in stderr.splitlines() if "srl-label" in line] == [
            line for line in stderr.splitlines() if line.startswith("srl-label: error: ")
        ]
        assert sum(line.startswith("srl-label: error: ") for line in stderr.splitlines()) == 1


def test_interrupted_run_leaves_complete_lines_and_resumes(tiny_export, sentences, tmp_path):
    text = tmp_path / "big.txt"
    text.write_text("\n".join(sentences * 8) + "\n")
    full = srl_label(tiny_export, text, "--chunk-size", "16")
    assert full.returncode == 0
    output = tmp_path / "out.jsonl"
    stderr = interrupted_srl_label([tiny_export, text, "--chunk-size", "16"], output, 20000)
    assert "Resume with:" in stderr and "--resume" in stderr
    partial = output.read_bytes()
    assert partial.endswith(b"\n")
    done = json_lines(partial)
    assert 0 < len(done) < len(sentences) * 40
    # A crash mid-write leaves half a line: --resume cuts it off and goes on from there.
    output.write_bytes(partial + b'{"words": ["half')
    resumed = srl_label(tiny_export, text, "-o", output, "--chunk-size", "16", "--resume")
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert output.read_bytes() == full.stdout


def test_conll_and_html_formats(tiny_export, sentences, tmp_path):
    text = tmp_path / "input.txt"
    text.write_text("\n".join(sentences[:5] + [""]) + "\n")
    jsonl = json_lines(srl_label(tiny_export, text).stdout)
    conll = srl_label(tiny_export, text, "--format", "conll").stdout.decode()
    blocks = conll.split("\n\n")[:-1]
    assert len(blocks) == 5  # The empty line's error gives no block.
    for block, result in zip(blocks, jsonl):
        rows = [line.split() for line in block.split("\n")]
        assert len(rows) == len(result["words"])
        assert all(len(row) == 1 + len(result["verbs"]) for row in rows)
    page = srl_label(tiny_export, text, "--format", "html").stdout.decode()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count('<section class="sentence">') == 6


# Frees 19 of 20 heap blocks of 1 MiB after glibc has seen a 4 MiB mapped block freed, the pattern
# of a labeller's activations; prints the RSS (KiB) those 19 free blocks still hold.
_HEAP_PATTERN = """
import sys
from srl_plugin.hf.cli.label import keep_heap_flat
if sys.argv[1] == "flat":
    assert keep_heap_flat()
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
del bytearray(4 << 20)[:]
before = rss()
blocks = [bytearray(1 << 20) for _ in range(20)]
del blocks[:-1]
print(rss() - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc")
@pytest.mark.parametrize("mode", ["flat", "glibc default"])
def test_keep_heap_flat_returns_freed_activations(mode):
    """
    With `keep_heap_flat` (srl-label, Ray workers), large freed blocks go back to the system;
    with glibc's default they stay in the process (why peak RSS grew with the input's size).
    """
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    env.pop("MALLOC_MMAP_THRESHOLD_", None)
    held = subprocess.run(
        [sys.executable, "-c", _HEAP_PATTERN, mode.split()[0]],
        capture_output=True, text=True, env=env, check=True,
    ).stdout  # fmt: skip
    if mode == "flat":
        assert int(held) < 4 * 1024
    else:
        assert int(held) > 15 * 1024


def test_keep_heap_flat_leaves_an_explicit_setting(monkeypatch):
    from srl_plugin.hf.cli.label import keep_heap_flat

    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert keep_heap_flat() is False
