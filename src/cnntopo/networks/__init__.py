"""Which network: the project's CIFAR ResNets (``models``), their layer tables (``layers``, torch-free),
torchvision classifiers from local weights (``torchvision_models``, with ``torchvision_compat`` for the
index's CUDA-only build), their named feature nodes (``feature_nodes``), weights files (``weights``) and
the device a network runs on (``devices``)."""
