rule persistence_diagrams:
    """H0 and H1 Vietoris-Rips diagrams of every layer's {wildcards.representation} cloud of one model, per batch
    (one job per model: the batches share its start-up)."""
    input:
        store=rules.extract_activations.output[0],
    output:
        expand("results/persistence/{{branch}}/{{representation}}/seed{{seed}}/batch{batch}.npz", batch=BATCHES),
    log:
        "results/logs/persistence_diagrams/{branch}/{representation}/seed{seed}.log",
    benchmark:
        "results/benchmarks/persistence_diagrams/{branch}/{representation}/seed{seed}.tsv"
    conda:
        ENVIRONMENT
    threads: PH["persistence"]["threads"]
    resources:
        mem_mb=estimate("persistence_diagrams_mem"),
        runtime=estimate("persistence_diagrams_runtime"),
    params:
        backend=lambda w: branch_config(w)["persistence"]["backend"],
        maxdim=lambda w: branch_config(w)["persistence"]["maxdim"],
        batches=" ".join(map(str, BATCHES)),
    shell:
        "python -m cnntopo.ph.persistence --store {input.store} --batch {params.batches}"
        " --maxdim {params.maxdim} --backend {params.backend} --representation {wildcards.representation}"
        " --threads {threads} --out {output} > {log} 2>&1"
