from srl_plugin.metrics.srl_span_f1 import SrlSpanF1

__all__ = ["SrlSpanF1"]
