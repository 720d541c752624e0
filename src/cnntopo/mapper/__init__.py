"""The mapper branch (SPEC branch 2, paper Figures 4 and 8-12).

``foreground`` (masks and impulse receptive fields) -> ``activations`` (BatchNorm
outputs under random / full / foreground / background sampling) -> ``graph``
(mapper graphs, written as JSON with their ``purity``) -> ``figures`` (pages and
figures drawn from the graph files).
"""
