"""
Reading and writing AllenNLP archives of SRL models.

- `safe_tar`: reading tar archives that may be hostile (standard library and
  `srl_plugin.hf` only, usable without AllenNLP), also for AllenNLP's `load_archive`.
- `files`: an archive's files, from a `model.tar.gz` read in memory or an unpacked folder.
- `srl_bert`: allennlp-models' `srl_bert` archives as this plugin's model.
- `archive`: our reader (`read_srl_checkpoint`, `load_srl_archive`) and writers
  (`export_checkpoint`, `write_archive`).
- `resolution`: which checkpoint an `hf_srl` model or reader is built from, read in memory.

This file imports none of them, so `srl_plugin.archives.safe_tar` imports without AllenNLP.
"""
