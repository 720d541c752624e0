"""cnntopo: the topology of CNN activations (Purvine et al., AAAI 2023) as a reproducible workflow.

Plain, typed functions that know nothing of Snakemake; the workflow's rules call
them through ``python -m cnntopo.<step>`` or ``python -m cnntopo.<branch>.<step>``.

Shared foundations (this package's top level): ``data`` (image sets), ``store`` (Zarr
activation stores), ``train`` (seed models), ``training_summary``, ``paper_vs_run``,
``plotting`` (figure files), ``io`` (atomic writes, strict JSON, tables), ``provenance``
(digests, versions, the machine), ``pages`` (what the offline pages embed) and ``entrypoint``
(how a step's process runs).

- :mod:`cnntopo.networks`: which network (the CIFAR ResNets, layer tables, torchvision
  classifiers from local weights, feature nodes, weights files, devices);
- :mod:`cnntopo.workflow`: the Python half of the Snakefile (config, resources, graph variants,
  snapshots, locks, the run summary).

One subpackage per branch of the study (docs/method.md):

- :mod:`cnntopo.ph`: persistent homology of top-l2 point clouds, sliced-Wasserstein
  and baseline layer metrics, the specificity and sensitivity tests (paper Figures 5-7);
- :mod:`cnntopo.mapper`: foreground/background sampling, mapper graphs and their
  purity (paper Figures 4, 8-12, 13);
- :mod:`cnntopo.profile`: DeepDataProfiler profiles, profile graphs and their topology.
"""

__version__ = "0.1.0"
