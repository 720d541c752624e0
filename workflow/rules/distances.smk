rule within_model_distances:
    """L x L distances between the layers of one model under {wildcards.metric}, per batch, their mean and CV."""
    input:
        lambda w: metric_inputs(w.branch, w.metric, int(w.seed)),
    output:
        "results/distances/{branch}/{metric}/within/seed{seed}.npz",
    log:
        "results/logs/within_model_distances/{branch}/{metric}/seed{seed}.log",
    conda:
        ENVIRONMENT
    threads: 1
    resources:
        mem_mb=estimate("layer_distances_mem"),
        runtime=estimate("within_model_distances_runtime"),
    params:
        options=sw_options,
    shell:
        "python -m cnntopo.ph.layer_distances within --metric {wildcards.metric} --inputs {input}"
        " {params.options} --out {output} > {log} 2>&1"


rule cross_model_distances:
    """L x L distances(layer i of model {wildcards.seed}, layer j of B) under {wildcards.metric}, for each partner B."""
    input:
        reference=lambda w: metric_inputs(w.branch, w.metric, int(w.seed)),
        others=lambda w: metric_inputs(w.branch, w.metric, cross_partners(int(w.seed))),
    output:
        "results/distances/{branch}/{metric}/cross/seed{seed}.npz",
    log:
        "results/logs/cross_model_distances/{branch}/{metric}/seed{seed}.log",
    benchmark:
        "results/benchmarks/cross_model_distances/{branch}/{metric}/seed{seed}.tsv"
    conda:
        ENVIRONMENT
    threads: 1
    resources:
        mem_mb=estimate("layer_distances_mem"),
        runtime=estimate("cross_model_distances_runtime"),
    params:
        options=sw_options,
    shell:
        "python -m cnntopo.ph.layer_distances cross --metric {wildcards.metric} --reference {input.reference}"
        " --others {input.others} {params.options} --out {output} > {log} 2>&1"


rule figure_within:
    """Figure 5: the reference model's within-model heatmap under {wildcards.metric}, mean over batches, and its CV."""
    input:
        within=expand(rules.within_model_distances.output[0], seed=REFERENCES[0], allow_missing=True),
    output:
        figure=report(
            "results/figures/{branch}/{metric}/figure5_within.png",
            caption="../report/figure5.rst",
            category="Figures 5 and 6",
            subcategory="{metric}",
        ),
        pdf="results/figures/{branch}/{metric}/figure5_within.pdf",
        table=report(
            "results/figures/{branch}/{metric}/figure5_within.csv",
            caption="../report/figure5_table.rst",
            category="Figures 5 and 6",
            subcategory="{metric}",
        ),
    log:
        "results/logs/figure_within/{branch}/{metric}.log",
    localrule: True
    conda:
        ENVIRONMENT
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "python -m cnntopo.ph.figures within-heatmap --within {input.within} --out {output.figure}"
        " --table {output.table} > {log} 2>&1"
