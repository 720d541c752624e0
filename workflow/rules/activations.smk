rule extract_activations:
    """Top-l2 point clouds of the 17 Conv2d layers of one model, B batches of N test images, as a Zarr store."""
    input:
        weights="results/models/{branch}/seed{seed}.pt",
        data=dataset_input,
    output:
        directory("results/activations/{branch}/seed{seed}.zarr"),
    log:
        "results/logs/extract_activations/{branch}/seed{seed}.log",
    benchmark:
        "results/benchmarks/extract_activations/{branch}/seed{seed}.tsv"
    params:
        data=data_json,
        n_images=lambda w: branch_config(w)["activations"]["n_images"],
        batches=lambda w: branch_config(w)["activations"]["batches"],
        data_seed=lambda w: branch_config(w)["activations"]["data_seed"],
        extract_batch=lambda w: branch_config(w)["activations"]["extract_batch"],
        digest=settings_digest,
        device=config["device"],
    threads: 1
    resources:
        mem_mb=per_attempt(extract_mem),
        runtime=per_attempt(extract_runtime),
        gpu=int(USE_GPU),
    conda:
        ENVIRONMENT
    shell:
        "python -m cnntopo.activations --weights {input.weights} --data {params.data:q}"
        " --n-images {params.n_images} --batches {params.batches} --data-seed {params.data_seed}"
        " --extract-batch {params.extract_batch} --config-digest {params.digest} --out {output}"
        " --device {params.device} --threads {threads} > {log} 2>&1"
