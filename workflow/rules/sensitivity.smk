rule sensitivity:
    """Distance between each selected layer of the reference model and its copies with the k lowest PCs deleted."""
    input:
        store=f"results/activations/{{branch}}/seed{REFERENCES[0]}.zarr",
        cross=lambda w: expand(
            "results/distances/{branch}/{metric}/cross/seed{seed}.npz", branch=w.branch, metric=w.metric, seed=CROSS_SEEDS
        ),
    output:
        curves="results/sensitivity/{branch}/{metric}/sensitivity_curves.csv",
        summary=report(
            "results/sensitivity/{branch}/{metric}/sensitivity_summary.csv",
            caption="../report/sensitivity_summary.rst",
            category="Sensitivity (Figure 7)",
            subcategory="{metric}",
        ),
    log:
        "results/logs/sensitivity/{branch}/{metric}.log",
    benchmark:
        "results/benchmarks/sensitivity/{branch}/{metric}.tsv"
    params:
        layers=" ".join(map(str, SENSITIVITY_LAYERS)),
        step=lambda w: branch_config(w)["sensitivity"]["step"],
        projection=lambda w: branch_config(w)["sensitivity"]["projection"],
        batch=lambda w: branch_config(w)["sensitivity"]["batch"],
        options=lambda w: f"{sw_options(w)} {ph_options(w)}",
    threads: 1
    resources:
        mem_mb=per_attempt(persistence_mem),
        runtime=per_attempt(sensitivity_runtime),
    conda:
        ENVIRONMENT
    shell:
        "python -m cnntopo.sensitivity --store {input.store} --cross {input.cross} --metric {wildcards.metric}"
        " --layers {params.layers} --step {params.step} --projection {params.projection} --batch {params.batch}"
        " {params.options} --curves {output.curves} --summary {output.summary} > {log} 2>&1"


rule figure_sensitivity:
    """Figure 7: distance against the fraction of principal components deleted, the baseline as a line."""
    input:
        curves="results/sensitivity/{branch}/{metric}/sensitivity_curves.csv",
    output:
        figure=report(
            "results/figures/{branch}/{metric}/figure7_sensitivity.png",
            caption="../report/figure7.rst",
            category="Sensitivity (Figure 7)",
            subcategory="{metric}",
        ),
        pdf="results/figures/{branch}/{metric}/figure7_sensitivity.pdf",
        table="results/figures/{branch}/{metric}/figure7_sensitivity.csv",
    log:
        "results/logs/figure_sensitivity/{branch}/{metric}.log",
    params:
        label=lambda w: {"sw": "SW distance", "cka": "1 - linear CKA", "procrustes": "Procrustes distance"}[w.metric],
    localrule: True
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENVIRONMENT
    shell:
        "python -m cnntopo.figures sensitivity --curves {input.curves} --label {params.label:q}"
        " --out {output.figure} --table {output.table} > {log} 2>&1"


rule comparison:
    """Every metric's specificity and sensitivity side by side: the project's own result."""
    input:
        specificity=expand("results/specificity/{{branch}}/{metric}/specificity_summary.csv", metric=METRICS),
        sensitivity=expand("results/sensitivity/{{branch}}/{metric}/sensitivity_summary.csv", metric=METRICS),
    output:
        figure=report(
            "results/comparison/{branch}/comparison.png",
            caption="../report/comparison.rst",
            category="Comparison of metrics",
        ),
        pdf="results/comparison/{branch}/comparison.pdf",
        table=report(
            "results/comparison/{branch}/comparison.csv",
            caption="../report/comparison_table.rst",
            category="Comparison of metrics",
        ),
    log:
        "results/logs/comparison/{branch}.log",
    localrule: True
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENVIRONMENT
    shell:
        "python -m cnntopo.figures comparison --specificity {input.specificity} --sensitivity {input.sensitivity}"
        " --out {output.figure} --table {output.table} > {log} 2>&1"
