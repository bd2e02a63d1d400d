"""
Former home of the archive code, kept so that `from srl_plugin.archival import ...` (version
0.1.0) keeps working: everything now lives in `srl_plugin.archives`.
"""

from srl_plugin.archives.archive import (  # noqa: F401
    SrlCheckpoint,
    load_srl_archive,
    read_srl_checkpoint,
    write_archive,
    write_export,
)
from srl_plugin.archives.files import DEFAULT_EXPORT_DIR, is_allennlp_archive  # noqa: F401
from srl_plugin.archives.resolution import embedded_export, resolve_checkpoint  # noqa: F401
from srl_plugin.archives.safe_tar import safe_extract  # noqa: F401
from srl_plugin.archives.srl_bert import infer_bert_config  # noqa: F401
