rule comparison:
    """Every (metric, representation)'s specificity and sensitivity side by side: the project's own result."""
    input:
        specificity=lambda w: expand_measures(rules.specificity.output.summary, branch=w.branch),
        sensitivity=lambda w: expand_measures(rules.sensitivity.output.summary, branch=w.branch),
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


rule control_comparison:
    """Specificity and sensitivity of the trained models beside their untrained initialisations."""
    input:
        trained=expand_measures(rules.specificity.output.summary, branch="ph"),
        untrained=expand_measures(rules.specificity.output.summary, branch="ph_untrained"),
        trained_sensitivity=expand_measures(rules.sensitivity.output.summary, branch="ph"),
        untrained_sensitivity=expand_measures(rules.sensitivity.output.summary, branch="ph_untrained"),
    output:
        figure=report(
            "results/controls/ph/untrained/specificity.png",
            caption="../report/control.rst",
            category="Controls and the paper",
        ),
        pdf="results/controls/ph/untrained/specificity.pdf",
        table=report(
            "results/controls/ph/untrained/specificity.csv",
            caption="../report/control_table.rst",
            category="Controls and the paper",
        ),
        sensitivity="results/controls/ph/untrained/sensitivity.csv",
    log:
        "results/logs/control_comparison.log",
    localrule: True
    conda:
        ENVIRONMENT
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "python -m cnntopo.ph.figures control --trained {input.trained} --untrained {input.untrained}"
        " --trained-sensitivity {input.trained_sensitivity} --untrained-sensitivity {input.untrained_sensitivity}"
        " --out {output.figure} --table {output.table} --sensitivity-table {output.sensitivity} > {log} 2>&1"


rule specificity_difference:
    """Trained minus untrained specificity of {wildcards.metric} on {wildcards.representation}, paired by seed."""
    input:
        trained_within=expand(rules.layer_distances.output.within, branch="ph", seed=REFERENCES, allow_missing=True),
        trained_cross=expand(rules.layer_distances.output.cross, branch="ph", seed=CROSS_SEEDS, allow_missing=True),
        untrained_within=expand(
            rules.layer_distances.output.within, branch="ph_untrained", seed=REFERENCES, allow_missing=True
        ),
        untrained_cross=expand(
            rules.layer_distances.output.cross, branch="ph_untrained", seed=CROSS_SEEDS, allow_missing=True
        ),
    output:
        "results/controls/ph/untrained/{metric}/{representation}/difference.csv",
    log:
        "results/logs/specificity_difference/{metric}/{representation}.log",
    localrule: True
    conda:
        ENVIRONMENT
    resources:
        mem_mb=estimate("specificity_mem"),
        runtime=estimate("specificity_runtime"),
    params:
        layer=PH["specificity"]["layer"],
        references=" ".join(map(str, REFERENCES)),
        statistics=statistics_options,
    shell:
        "python -m cnntopo.ph.difference --trained-within {input.trained_within} --trained-cross {input.trained_cross}"
        " --untrained-within {input.untrained_within} --untrained-cross {input.untrained_cross}"
        " --references {params.references} --layer {params.layer} {params.statistics} --out {output} > {log} 2>&1"


rule control_difference:
    """Every (metric, representation)'s trained-minus-untrained specificity in one table and figure."""
    input:
        expand_measures(rules.specificity_difference.output[0]),
    output:
        figure=report(
            "results/controls/ph/untrained/difference.png",
            caption="../report/difference.rst",
            category="Controls and the paper",
        ),
        pdf="results/controls/ph/untrained/difference.pdf",
        table=report(
            "results/controls/ph/untrained/difference.csv",
            caption="../report/difference_table.rst",
            category="Controls and the paper",
        ),
    log:
        "results/logs/control_difference.log",
    localrule: True
    conda:
        ENVIRONMENT
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "python -m cnntopo.ph.figures difference --tables {input} --out {output.figure} --table {output.table}"
        " > {log} 2>&1"


rule paper_vs_run:
    """Every quantitative claim of the paper beside this run's value, its interval, the run's scale and a verdict."""
    input:
        unpack(paper_vs_run_inputs),
    output:
        table=report(
            "results/paper_vs_run.csv",
            caption="../report/paper_vs_run.rst",
            category="Controls and the paper",
        ),
    log:
        "results/logs/paper_vs_run.log",
    localrule: True
    conda:
        ENVIRONMENT
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        scale=lambda w: json.dumps(
            {
                "models": config["seeds"],
                "n_images": PH["activations"]["n_images"],
                "batches": PH["activations"]["batches"],
                "dataset": config["data"]["dataset"],
                "width": PH["model"]["width"],
            }
        ),
        options=paper_vs_run_options,
    shell:
        "python -m cnntopo.paper_vs_run {params.options} --scale {params.scale:q} --out {output.table} > {log} 2>&1"
