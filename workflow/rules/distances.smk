rule within_model_distances:
    """L x L distances between the layers of one model under {wildcards.metric}, per batch, their mean and CV."""
    input:
        lambda w: metric_inputs(w.branch, w.metric, int(w.seed)),
    output:
        "results/distances/{branch}/{metric}/within/seed{seed}.npz",
    log:
        "results/logs/within_model_distances/{branch}/{metric}/seed{seed}.log",
    params:
        options=sw_options,
    threads: 1
    resources:
        mem_mb=per_attempt(distances_mem),
        runtime=per_attempt(within_runtime),
    conda:
        ENVIRONMENT
    shell:
        "python -m cnntopo.layer_distances within --metric {wildcards.metric} --inputs {input}"
        " {params.options} --out {output} > {log} 2>&1"


rule cross_model_distances:
    """L x L distances(layer i of model {wildcards.seed}, layer j of B) under {wildcards.metric}, for each partner B."""
    input:
        reference=lambda w: metric_inputs(w.branch, w.metric, int(w.seed)),
        others=lambda w: [f for s in cross_partners(int(w.seed)) for f in metric_inputs(w.branch, w.metric, s)],
    output:
        "results/distances/{branch}/{metric}/cross/seed{seed}.npz",
    log:
        "results/logs/cross_model_distances/{branch}/{metric}/seed{seed}.log",
    benchmark:
        "results/benchmarks/cross_model_distances/{branch}/{metric}/seed{seed}.tsv"
    params:
        options=sw_options,
    threads: 1
    resources:
        mem_mb=per_attempt(distances_mem),
        runtime=per_attempt(cross_runtime),
    conda:
        ENVIRONMENT
    shell:
        "python -m cnntopo.layer_distances cross --metric {wildcards.metric} --reference {input.reference}"
        " --others {input.others} {params.options} --out {output} > {log} 2>&1"
