rule sensitivity:
    """Distance between each selected layer of the reference model and its copies with the k lowest PCs deleted."""
    input:
        store=expand(rules.extract_activations.output[0], seed=REFERENCES[0], allow_missing=True),
        cross=lambda w: expand(
            rules.layer_distances.output.cross,
            branch=w.branch,
            metric=w.metric,
            representation=w.representation,
            seed=CROSS_SEEDS,
        ),
    output:
        curves="results/sensitivity/{branch}/{metric}/{representation}/sensitivity_curves.csv",
        summary=report(
            "results/sensitivity/{branch}/{metric}/{representation}/sensitivity_summary.csv",
            caption="../report/sensitivity_summary.rst",
            category="Sensitivity (Figure 7)",
            subcategory="{metric}, {representation}",
        ),
    log:
        "results/logs/sensitivity/{branch}/{metric}/{representation}.log",
    benchmark:
        "results/benchmarks/sensitivity/{branch}/{metric}/{representation}.tsv"
    conda:
        ENVIRONMENT
    threads: 1
    resources:
        mem_mb=estimate("persistence_diagrams_mem"),
        runtime=estimate("sensitivity_runtime"),
    params:
        layers=" ".join(map(str, SENSITIVITY_LAYERS)),
        step=lambda w: branch_config(w)["sensitivity"]["step"],
        projection=lambda w: branch_config(w)["sensitivity"]["projection"],
        batch=lambda w: branch_config(w)["sensitivity"]["batch"],
        options=lambda w: f"{sw_options(w)} {ph_options(w)}",
    shell:
        "python -m cnntopo.ph.sensitivity --store {input.store} --cross {input.cross} --metric {wildcards.metric}"
        " --layers {params.layers} --step {params.step} --projection {params.projection} --batch {params.batch}"
        " --representation {wildcards.representation} {params.options} --curves {output.curves}"
        " --summary {output.summary} > {log} 2>&1"


rule figure_sensitivity:
    """Figure 7: distance against the fraction of principal components deleted, the baseline as a line."""
    input:
        curves=rules.sensitivity.output.curves,
    output:
        figure=report(
            "results/figures/{branch}/{metric}/{representation}/figure7_sensitivity.png",
            caption="../report/figure7.rst",
            category="Sensitivity (Figure 7)",
            subcategory="{metric}, {representation}",
        ),
        pdf="results/figures/{branch}/{metric}/{representation}/figure7_sensitivity.pdf",
        table="results/figures/{branch}/{metric}/{representation}/figure7_sensitivity.csv",
    log:
        "results/logs/figure_sensitivity/{branch}/{metric}/{representation}.log",
    localrule: True
    conda:
        ENVIRONMENT
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        label=lambda w: f"{METRIC_TABLE[w.metric].label} ({w.representation})",
        names=layer_names_option,
    shell:
        "python -m cnntopo.ph.figures sensitivity --curves {input.curves} --label {params.label:q} {params.names}"
        " --out {output.figure} --table {output.table} > {log} 2>&1"
