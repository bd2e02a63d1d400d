"""Paths the tests share, so that they run from any directory (allennlp-models' habit)."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FIXTURES_ROOT = PROJECT_ROOT / "tests" / "fixtures"
# The first sentences of each genre of EWT PropBank dev (the shipped archive's conll2012/sample).
EWT_SAMPLE = FIXTURES_ROOT / "ewt_sample"
# Twelve sentences in which `run` is `run.01` (operate) or `run.02` (walk quickly) by context.
SENSES_FIXTURE = FIXTURES_ROOT / "senses"
CONFIGS_ROOT = PROJECT_ROOT / "training_configs"
