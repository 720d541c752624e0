rule persistence_diagrams:
    """H0 and H1 Vietoris-Rips diagrams of the 17 top-l2 clouds of one model and batch."""
    input:
        store="results/activations/{branch}/seed{seed}.zarr",
    output:
        "results/persistence/{branch}/seed{seed}/batch{batch}.npz",
    log:
        "results/logs/persistence_diagrams/{branch}/seed{seed}_batch{batch}.log",
    benchmark:
        "results/benchmarks/persistence_diagrams/{branch}/seed{seed}_batch{batch}.tsv"
    params:
        backend=lambda w: branch_config(w)["persistence"]["backend"],
        maxdim=lambda w: branch_config(w)["persistence"]["maxdim"],
    threads: 1
    resources:
        mem_mb=per_attempt(persistence_mem),
        runtime=per_attempt(persistence_runtime),
    conda:
        ENVIRONMENT
    shell:
        "python -m cnntopo.persistence --store {input.store} --batch {wildcards.batch}"
        " --maxdim {params.maxdim} --backend {params.backend} --out {output} > {log} 2>&1"
