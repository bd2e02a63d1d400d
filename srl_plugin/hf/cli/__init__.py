"""
The command-line programs of the Hugging Face side (no AllenNLP): `srl-label` (`label`),
`srl-fit-predicates` (`fit_predicates`), `srl-onnx` (`onnx`) and the Ray Data labeller (`python -m
srl_plugin.hf.cli.ray`). They share their options and one exit policy (`options`), which the
AllenNLP side's `srl-export` and `srl-import` follow too.
"""
