rule comparison:
    """Every metric's specificity and sensitivity side by side: the project's own result."""
    input:
        specificity=expand(rules.specificity.output.summary, metric=PH_METRICS, allow_missing=True),
        sensitivity=expand(rules.sensitivity.output.summary, metric=PH_METRICS, allow_missing=True),
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
    conda:
        ENVIRONMENT
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "python -m cnntopo.ph.figures comparison --specificity {input.specificity} --sensitivity {input.sensitivity}"
        " --out {output.figure} --table {output.table} > {log} 2>&1"
