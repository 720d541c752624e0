"""The mapper branch (paper Figures 4 and 8-12; docs/method.md, The mapper branch).

``foreground`` (masks and impulse receptive fields) -> ``activations`` (BatchNorm
outputs under random / full / foreground / background sampling) -> ``graph``
(mapper graphs, written as JSON with their ``purity``) -> ``figures`` (pages and
figures drawn from the graph files).
"""
