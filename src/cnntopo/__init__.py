"""cnntopo: the topology of CNN activations (Purvine et al., AAAI 2023) as a reproducible workflow.

Plain, typed functions that know nothing of Snakemake; the workflow's rules call
them through ``python -m cnntopo.<branch>.<step>``.

Shared foundations (this package's top level): ``config`` (schema validation),
``data`` (image sets), ``layers`` (layer tables, torch-free), ``models`` (networks and
weights files), ``train`` (seed models), ``store`` (Zarr activation stores),
``provenance`` (digests, atomic writes, tables), ``resources`` (job resources),
``plotting`` (figure files), ``run_summary`` (what a finished run prints).

One subpackage per branch of the study:

- :mod:`cnntopo.ph`: persistent homology of top-l2 point clouds, sliced-Wasserstein
  and baseline layer metrics, the specificity and sensitivity tests (paper Figures 5-7);
- :mod:`cnntopo.mapper`: foreground/background sampling, mapper graphs and their
  purity (paper Figures 4, 8-12);
- :mod:`cnntopo.profile`: DeepDataProfiler-style profiles (the second source document).
"""

__version__ = "0.1.0"
