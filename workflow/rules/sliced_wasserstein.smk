rule within_model_sw:
    """17 x 17 SW distances between the layers of one model, per batch, their mean and CV."""
    input:
        diagrams=lambda w: diagram_files(w.branch, int(w.seed)),
    output:
        "results/sw/{branch}/within/seed{seed}.npz",
    log:
        "results/logs/within_model_sw/{branch}/seed{seed}.log",
    params:
        dim=lambda w: branch_config(w)["sw"]["homology_dim"],
        directions=lambda w: branch_config(w)["sw"]["directions"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=lambda w: estimate.sw_runtime_min(
            136 * branch_config(w)["activations"]["batches"], branch_config(w)["activations"]["n_images"] // 2
        ),
    conda:
        ENVIRONMENT
    shell:
        "python -m cnntopo.layer_distances within --diagrams {input.diagrams} --dim {params.dim}"
        " --directions {params.directions} --out {output} > {log} 2>&1"


rule cross_model_sw:
    """17 x 17 SW(layer i of model {wildcards.seed}, layer j of B) for each partner model B."""
    input:
        reference=lambda w: diagram_files(w.branch, int(w.seed)),
        others=lambda w: [f for s in cross_partners(int(w.seed)) for f in diagram_files(w.branch, s)],
    output:
        "results/sw/{branch}/cross/seed{seed}.npz",
    log:
        "results/logs/cross_model_sw/{branch}/seed{seed}.log",
    benchmark:
        "results/benchmarks/cross_model_sw/{branch}/seed{seed}.tsv"
    params:
        dim=lambda w: branch_config(w)["sw"]["homology_dim"],
        directions=lambda w: branch_config(w)["sw"]["directions"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=lambda w: estimate.sw_runtime_min(
            289 * len(cross_partners(int(w.seed))) * branch_config(w)["activations"]["batches"],
            branch_config(w)["activations"]["n_images"] // 2,
        ),
    conda:
        ENVIRONMENT
    shell:
        "python -m cnntopo.layer_distances cross --reference {input.reference} --others {input.others}"
        " --dim {params.dim} --directions {params.directions} --out {output} > {log} 2>&1"
