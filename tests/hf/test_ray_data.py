"""
Ray Data (`pip install ".[ray]"`) on a local Ray instance: `read_text(...).map_batches(SrlLabeler)`
over the EWT dev text gives, line for line, what the single-process labeller gives.
"""

import json
import os

import pytest
import torch

from tests.conll import ewt_dev, read_conll_sentences

pytestmark = pytest.mark.modern

DEV_LINES = 800
FIXTURE = os.environ.get("SRL_PLUGIN_MODERN_FIXTURE", "")


@pytest.fixture(scope="module")
def export() -> str:
    path = os.path.join(FIXTURE, "export")
    if not os.path.isfile(os.path.join(path, "config.json")):
        pytest.fail(
            f"no export at SRL_PLUGIN_MODERN_FIXTURE={FIXTURE!r}: run the AllenNLP tests first"
        )
    return path


def test_ray_data_output_equals_single_process(export, tmp_path):
    ray = pytest.importorskip("ray")  # the `ray` extra: installed in .venv-hf5 by the Makefile
    from srl_plugin.hf.corpus import label_lines
    from srl_plugin.hf.formats import json_line
    from srl_plugin.hf.labeler import SemanticRoleLabeler
    from srl_plugin.hf.ray_data import SrlLabeler

    sentences = read_conll_sentences(ewt_dev(str(tmp_path)))
    text = tmp_path / "dev.txt"
    # The first 800 of EWT dev's 1,968 sentences (all of them take 4 minutes on 2 busy cores,
    # mostly Ray's start), and lines that are answered with errors.
    lines = [" ".join(words) for words, _ in sentences[:DEV_LINES]] + ["", "\x00\x01", "  "]
    text.write_text("\n".join(lines) + "\n", encoding="utf-8")

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # As each Ray worker (num_cpus=1): same float32 sums, same bits.
    try:
        labeler = SemanticRoleLabeler.from_pretrained(export)
        labeler.model.eval()
        with open(text, "rb") as lines_in:
            single = [json_line(r)[:-1] for r in label_lines(labeler, lines_in, False, 512)]
    finally:
        torch.set_num_threads(threads)

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        dataset = ray.data.read_text(
            str(text), drop_empty_lines=False, override_num_blocks=1
        ).map_batches(
            SrlLabeler,
            fn_constructor_kwargs={"export": export},
            batch_size=512,
            concurrency=1,
            num_cpus=1,
        )
        distributed = [row["srl"] for row in dataset.take_all()]
    finally:
        ray.shutdown()
    assert len(distributed) == len(lines) == len(single)
    results = [json.loads(line) for line in single]
    assert [i for i, r in enumerate(results) if "error" in r] == [
        DEV_LINES,
        DEV_LINES + 1,
        DEV_LINES + 2,
    ]
    assert sum(len(r.get("verbs", [])) for r in results) > DEV_LINES
    mismatches = [i for i, (a, b) in enumerate(zip(distributed, single)) if a != b]
    assert not mismatches, (mismatches[:5], distributed[mismatches[0]], single[mismatches[0]])
