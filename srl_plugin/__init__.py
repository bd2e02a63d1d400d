"""
srl_plugin: BERT semantic role labelling for AllenNLP, trained from and exported to Hugging Face.

`srl_plugin.hf` is the Hugging Face side and never imports AllenNLP. Importing `srl_plugin`
itself registers the AllenNLP components (`--include-package srl_plugin` and the
`.allennlp_plugins` file both import only this module), so it does so only when AllenNLP is
installed. It also makes AllenNLP's `load_archive` check every member of an archive with this
plugin's tar reader before extracting it (`srl_plugin.archives.safe_tar.use_checked_extraction`),
and every other tar extraction of the process use PEP 706's `data` filter (`use_data_filter`).
"""

__version__ = "0.1.0"

try:
    import allennlp  # noqa: F401
except ImportError:  # The Hugging Face side alone: nothing to register.
    pass
else:
    from srl_plugin.archives.safe_tar import use_checked_extraction, use_data_filter

    # AllenNLP's load_archive (`allennlp predict`, `evaluate`) extracts archives unchecked.
    use_checked_extraction()
    use_data_filter()
    # Each import registers its components with AllenNLP.
    from srl_plugin.callbacks.hf_export import HfExportCallback  # noqa: F401
    from srl_plugin.commands.srl_export import SrlExport  # noqa: F401
    from srl_plugin.commands.srl_import import SrlImport  # noqa: F401
    from srl_plugin.dataset_readers.srl_conll import HfSrlReader  # noqa: F401
    from srl_plugin.metrics.predicate_f1 import PredicateF1  # noqa: F401
    from srl_plugin.metrics.srl_span_f1 import SrlSpanF1  # noqa: F401
    from srl_plugin.models.hf_srl import HfSrlModel  # noqa: F401
    from srl_plugin.predictors.hf_srl import HfSrlPredictor  # noqa: F401
