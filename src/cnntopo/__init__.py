"""cnntopo: the topology of CNN activations (Purvine et al., AAAI 2023) as a reproducible workflow.

Plain, typed functions that know nothing of Snakemake; the workflow's rules call
them through ``python -m cnntopo.<step>``.
"""

__version__ = "0.1.0"
