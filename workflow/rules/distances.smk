rule layer_distances:
    """L x L distances under {wildcards.metric} ({wildcards.representation}): between the layers of model
    {wildcards.seed} per batch (with their mean and CV), and between its layers and those of each partner model."""
    input:
        reference=lambda w: metric_inputs(w.branch, w.metric, w.representation, int(w.seed)),
        others=lambda w: metric_inputs(w.branch, w.metric, w.representation, cross_partners(int(w.seed))),
    output:
        within="results/distances/{branch}/{metric}/{representation}/within/seed{seed}.npz",
        cross="results/distances/{branch}/{metric}/{representation}/cross/seed{seed}.npz",
    log:
        "results/logs/layer_distances/{branch}/{metric}/{representation}/seed{seed}.log",
    benchmark:
        "results/benchmarks/layer_distances/{branch}/{metric}/{representation}/seed{seed}.tsv"
    conda:
        ENVIRONMENT
    threads: lambda w: distance_threads(int(w.seed))
    resources:
        mem_mb=estimate("layer_distances_mem"),
        runtime=estimate("layer_distances_runtime"),
    params:
        options=sw_options,
    shell:
        "python -m cnntopo.ph.layer_distances --metric {wildcards.metric} --reference {input.reference}"
        " --others {input.others} --representation {wildcards.representation} {params.options}"
        " --threads {threads} --within-out {output.within} --cross-out {output.cross} > {log} 2>&1"


rule figure_within:
    """Figure 5: the reference model's within-model heatmap under {wildcards.metric}, mean over batches, and its CV."""
    input:
        within=expand(rules.layer_distances.output.within, seed=REFERENCES[0], allow_missing=True),
    output:
        figure=report(
            "results/figures/{branch}/{metric}/{representation}/figure5_within.png",
            caption="../report/figure5.rst",
            category="Figures 5 and 6",
            subcategory="{metric}, {representation}",
        ),
        pdf="results/figures/{branch}/{metric}/{representation}/figure5_within.pdf",
        table=report(
            "results/figures/{branch}/{metric}/{representation}/figure5_within.csv",
            caption="../report/figure5_table.rst",
            category="Figures 5 and 6",
            subcategory="{metric}, {representation}",
        ),
    log:
        "results/logs/figure_within/{branch}/{metric}/{representation}.log",
    localrule: True
    conda:
        ENVIRONMENT
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        names=layer_names_option,
    shell:
        "python -m cnntopo.ph.figures within-heatmap --within {input.within} {params.names} --out {output.figure}"
        " --table {output.table} > {log} 2>&1"
