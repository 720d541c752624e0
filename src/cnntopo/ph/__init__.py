"""The persistent-homology branch (paper Figures 5-7; docs/method.md, The PH branch).

``activations`` (top-l2 point clouds of the Conv2d layers, via ``sampling``) ->
``persistence`` (Vietoris-Rips diagrams) -> ``layer_distances`` (within- and
cross-model matrices of a ``similarity`` metric: SW from ``sliced_wasserstein``,
CKA, Procrustes) -> ``specificity`` and ``sensitivity`` -> ``figures``.
Everything but ``activations`` and ``sampling`` runs without torch.
"""
