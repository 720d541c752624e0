rule specificity:
    """Pearson correlation of row i of A's within-model matrix with row i of the A-vs-B cross matrix."""
    input:
        within=lambda w: expand(
            rules.within_model_distances.output[0], branch=w.branch, metric=w.metric, seed=REFERENCES
        ),
        cross=lambda w: expand(
            rules.cross_model_distances.output[0], branch=w.branch, metric=w.metric, seed=CROSS_SEEDS
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
    localrule: True
    conda:
        ENVIRONMENT
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        layer=lambda w: branch_config(w)["specificity"]["layer"],
        references=" ".join(map(str, REFERENCES)),
    shell:
        "python -m cnntopo.ph.specificity --within {input.within} --cross {input.cross} --layer {params.layer}"
        " --references {params.references} --table {output.table} --pairs {output.pairs}"
        " --summary {output.summary} > {log} 2>&1"


rule figure_specificity:
    """Figure 6: model A's within-model heatmap beside the A-vs-B cross heatmap, and the rows of the layer of interest."""
    input:
        within=expand(rules.within_model_distances.output[0], seed=REFERENCES[0], allow_missing=True),
        cross=expand(rules.cross_model_distances.output[0], seed=REFERENCES[0], allow_missing=True),
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
    localrule: True
    conda:
        ENVIRONMENT
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        other=cross_partners(REFERENCES[0])[0],
        layer=lambda w: branch_config(w)["specificity"]["layer"],
    shell:
        "python -m cnntopo.ph.figures specificity-heatmaps --within {input.within} --cross {input.cross}"
        " --other {params.other} --layer {params.layer} --out {output.figure} --table {output.table} > {log} 2>&1"
