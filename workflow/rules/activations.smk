rule extract_activations:
    """Point clouds (top-l2 and the other representations) of the Conv2d layers of one model, B batches of N test
    images, as a Zarr store."""
    input:
        weights=ph_model_weights,
        data=dataset_input,
        position_reference=position_reference,
        checked=weights_check,
    output:
        directory("results/activations/{branch}/seed{seed}.zarr"),
    log:
        "results/logs/extract_activations/{branch}/seed{seed}.log",
    benchmark:
        "results/benchmarks/extract_activations/{branch}/seed{seed}.tsv"
    conda:
        ENVIRONMENT
    threads: 1
    resources:
        mem_mb=estimate("extract_activations_mem"),
        runtime=estimate("extract_activations_runtime"),
        gpu=int(USE_GPU),
    params:
        data=data_json,
        n_images=lambda w: branch_config(w)["activations"]["n_images"],
        batches=lambda w: branch_config(w)["activations"]["batches"],
        data_seed=lambda w: branch_config(w)["activations"]["data_seed"],
        extract_batch=lambda w: branch_config(w)["activations"]["extract_batch"],
        digest=settings_digest,
        representations=lambda w: " ".join(stored_representations(w)),
        model=ph_model_options,
        position_reference=lambda w, input: (
            f"--position-reference {input.position_reference}" if input.position_reference else ""
        ),
        device=config["device"],
    shell:
        "python -m cnntopo.ph.activations {params.model} --data {params.data:q}"
        " --n-images {params.n_images} --batches {params.batches} --data-seed {params.data_seed}"
        " --extract-batch {params.extract_batch} --config-digest {params.digest} --out {output}"
        " --representations {params.representations} {params.position_reference}"
        " --device {params.device} --threads {threads} > {log} 2>&1"
