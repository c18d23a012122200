"""The comparisons run by ``benchmarks/compare.py``, one module per kind."""
