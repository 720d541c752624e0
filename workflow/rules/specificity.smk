rule specificity:
    """Pearson correlation of row i of A's within-model matrix with row i of the A-vs-B cross matrix."""
    input:
        within=lambda w: expand(
            rules.layer_distances.output.within,
            branch=w.branch,
            metric=w.metric,
            representation=w.representation,
            seed=REFERENCES,
        ),
        cross=lambda w: expand(
            rules.layer_distances.output.cross,
            branch=w.branch,
            metric=w.metric,
            representation=w.representation,
            seed=CROSS_SEEDS,
        ),
    output:
        table=report(
            "results/specificity/{branch}/{metric}/{representation}/specificity_by_layer.csv",
            caption="../report/specificity_table.rst",
            category="Specificity",
            subcategory="{metric}, {representation}",
        ),
        pairs="results/specificity/{branch}/{metric}/{representation}/specificity_pairs.csv",
        summary=report(
            "results/specificity/{branch}/{metric}/{representation}/specificity_summary.csv",
            caption="../report/specificity_summary.rst",
            category="Specificity",
            subcategory="{metric}, {representation}",
        ),
        seeds_needed="results/specificity/{branch}/{metric}/{representation}/seeds_needed.csv",
    log:
        "results/logs/specificity/{branch}/{metric}/{representation}.log",
    localrule: True
    conda:
        ENVIRONMENT
    resources:
        mem_mb=estimate("specificity_mem"),
        runtime=estimate("specificity_runtime"),
    params:
        layer=lambda w: branch_config(w)["specificity"]["layer"],
        references=" ".join(map(str, REFERENCES)),
        statistics=statistics_options,
    shell:
        "python -m cnntopo.ph.specificity --within {input.within} --cross {input.cross} --layer {params.layer}"
        " --references {params.references} {params.statistics} --table {output.table} --pairs {output.pairs}"
        " --summary {output.summary} --seeds-needed {output.seeds_needed} > {log} 2>&1"


rule figure_specificity:
    """Figure 6: model A's within-model heatmap beside the A-vs-B cross heatmap, and the rows of the layer of interest."""
    input:
        within=expand(rules.layer_distances.output.within, seed=REFERENCES[0], allow_missing=True),
        cross=expand(rules.layer_distances.output.cross, seed=REFERENCES[0], allow_missing=True),
        summary=rules.specificity.output.summary,
    output:
        figure=report(
            "results/figures/{branch}/{metric}/{representation}/figure6_specificity.png",
            caption="../report/figure6.rst",
            category="Figures 5 and 6",
            subcategory="{metric}, {representation}",
        ),
        pdf="results/figures/{branch}/{metric}/{representation}/figure6_specificity.pdf",
        table=report(
            "results/figures/{branch}/{metric}/{representation}/figure6_specificity.csv",
            caption="../report/figure6_table.rst",
            category="Figures 5 and 6",
            subcategory="{metric}, {representation}",
        ),
    log:
        "results/logs/figure_specificity/{branch}/{metric}/{representation}.log",
    localrule: True
    conda:
        ENVIRONMENT
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        other=cross_partners(REFERENCES[0])[0],
        layer=lambda w: branch_config(w)["specificity"]["layer"],
        names=layer_names_option,
    shell:
        "python -m cnntopo.ph.figures specificity-heatmaps --within {input.within} --cross {input.cross}"
        " --other {params.other} --layer {params.layer} {params.names} --summary {input.summary} --out {output.figure}"
        " --table {output.table} > {log} 2>&1"


rule specificity_summary:
    """The specificity of {wildcards.metric} on every representation, one row each, with its intervals and p-value."""
    input:
        lambda w: expand(
            rules.specificity.output.summary,
            branch=w.branch,
            metric=w.metric,
            representation=metric_representations(w.metric),
        ),
    output:
        report(
            "results/specificity/{branch}/{metric}/specificity_summary.csv",
            caption="../report/specificity_summary.rst",
            category="Specificity",
            subcategory="{metric}",
        ),
    log:
        "results/logs/specificity_summary/{branch}/{metric}.log",
    localrule: True
    conda:
        ENVIRONMENT
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "python -m cnntopo.io concatenate --tables {input} --out {output} > {log} 2>&1"


rule seeds_needed:
    """rho of {wildcards.metric} and its model-level interval when only k of the models are used, k = 2..n."""
    input:
        lambda w: expand(
            rules.specificity.output.seeds_needed,
            branch=w.branch,
            metric=w.metric,
            representation=metric_representations(w.metric),
        ),
    output:
        figure=report(
            "results/specificity/{branch}/{metric}/seeds_needed.png",
            caption="../report/seeds_needed.rst",
            category="Specificity",
            subcategory="{metric}",
        ),
        pdf="results/specificity/{branch}/{metric}/seeds_needed.pdf",
        table=report(
            "results/specificity/{branch}/{metric}/seeds_needed.csv",
            caption="../report/seeds_needed_table.rst",
            category="Specificity",
            subcategory="{metric}",
        ),
    log:
        "results/logs/seeds_needed/{branch}/{metric}.log",
    localrule: True
    conda:
        ENVIRONMENT
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "python -m cnntopo.ph.figures seeds-needed --tables {input} --out {output.figure} --table {output.table}"
        " > {log} 2>&1"
