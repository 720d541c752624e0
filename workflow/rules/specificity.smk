rule specificity:
    """Pearson correlation of row i of A's within-model matrix with row i of the A-vs-B cross matrix."""
    input:
        within=lambda w: expand(
            "results/distances/{branch}/{metric}/within/seed{seed}.npz", branch=w.branch, metric=w.metric, seed=REFERENCES
        ),
        cross=lambda w: expand(
            "results/distances/{branch}/{metric}/cross/seed{seed}.npz", branch=w.branch, metric=w.metric, seed=CROSS_SEEDS
        ),
    output:
        table=report(
            "results/specificity/{branch}/{metric}/specificity_by_layer.csv",
            caption="../report/specificity_table.rst",
            category="Specificity",
            subcategory="{metric}",
        ),
        pairs="results/specificity/{branch}/{metric}/specificity_pairs.csv",
        summary=report(
            "results/specificity/{branch}/{metric}/specificity_summary.csv",
            caption="../report/specificity_summary.rst",
            category="Specificity",
            subcategory="{metric}",
        ),
    log:
        "results/logs/specificity/{branch}/{metric}.log",
    params:
        layer=lambda w: branch_config(w)["specificity"]["layer"],
        references=" ".join(map(str, REFERENCES)),
    localrule: True
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENVIRONMENT
    shell:
        "python -m cnntopo.specificity --within {input.within} --cross {input.cross} --layer {params.layer}"
        " --references {params.references} --table {output.table} --pairs {output.pairs}"
        " --summary {output.summary} > {log} 2>&1"


rule figure_within:
    """Figure 5: the reference model's within-model heatmap under {wildcards.metric}, mean over batches, and its CV."""
    input:
        within=f"results/distances/{{branch}}/{{metric}}/within/seed{REFERENCES[0]}.npz",
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
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENVIRONMENT
    shell:
        "python -m cnntopo.figures within-heatmap --within {input.within} --out {output.figure}"
        " --table {output.table} > {log} 2>&1"


rule figure_specificity:
    """Figure 6: model A's within-model heatmap beside the A-vs-B cross heatmap, and the rows of the layer of interest."""
    input:
        within=f"results/distances/{{branch}}/{{metric}}/within/seed{REFERENCES[0]}.npz",
        cross=f"results/distances/{{branch}}/{{metric}}/cross/seed{REFERENCES[0]}.npz",
    output:
        figure=report(
            "results/figures/{branch}/{metric}/figure6_specificity.png",
            caption="../report/figure6.rst",
            category="Figures 5 and 6",
            subcategory="{metric}",
        ),
        pdf="results/figures/{branch}/{metric}/figure6_specificity.pdf",
        table=report(
            "results/figures/{branch}/{metric}/figure6_specificity.csv",
            caption="../report/figure6_table.rst",
            category="Figures 5 and 6",
            subcategory="{metric}",
        ),
    log:
        "results/logs/figure_specificity/{branch}/{metric}.log",
    params:
        other=[s for s in SEEDS if s != REFERENCES[0]][0],
        layer=lambda w: branch_config(w)["specificity"]["layer"],
    localrule: True
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENVIRONMENT
    shell:
        "python -m cnntopo.figures specificity-heatmaps --within {input.within} --cross {input.cross}"
        " --other {params.other} --layer {params.layer} --out {output.figure} --table {output.table} > {log} 2>&1"
