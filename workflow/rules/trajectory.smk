# Topology across training (ph.trajectory): the models after each epoch of ph.trajectory.epochs are the
# branches trajectory_branch(epoch), which the PH rules run like the trained models; this gathers them.


rule trajectory:
    """Specificity of {wildcards.metric} after each epoch of training, beside test accuracy, and the grids."""
    input:
        summaries=lambda w: [
            expand(
                rules.specificity.output.summary,
                branch=trajectory_branch(e),
                metric=w.metric,
                representation=metric_representations(w.metric)[0],
            )[0]
            for e in TRAJECTORY_EPOCHS
        ],
        within=lambda w: [
            expand(
                rules.layer_distances.output.within,
                branch=trajectory_branch(e),
                metric=w.metric,
                representation=metric_representations(w.metric)[0],
                seed=REFERENCES[0],
            )[0]
            for e in TRAJECTORY_EPOCHS
        ],
        metrics=expand("results/models/ph/seed{seed}.metrics.json", seed=SEEDS),
    output:
        table=report(
            "results/trajectory/ph/{metric}/specificity_by_epoch.csv",
            caption="../report/trajectory_table.rst",
            category="Topology across training",
        ),
        figure=report(
            "results/trajectory/ph/{metric}/specificity_by_epoch.png",
            caption="../report/trajectory.rst",
            category="Topology across training",
        ),
        pdf="results/trajectory/ph/{metric}/specificity_by_epoch.pdf",
        grids=report(
            "results/trajectory/ph/{metric}/grids_by_epoch.png",
            caption="../report/trajectory_grids.rst",
            category="Topology across training",
        ),
        grids_pdf="results/trajectory/ph/{metric}/grids_by_epoch.pdf",
        grids_table="results/trajectory/ph/{metric}/grids_by_epoch.csv",
    log:
        "results/logs/trajectory/{metric}.log",
    localrule: True
    conda:
        ENVIRONMENT
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        epochs=" ".join(map(str, TRAJECTORY_EPOCHS)),
    shell:
        "python -m cnntopo.ph.trajectory --epochs {params.epochs} --summaries {input.summaries}"
        " --within {input.within} --metrics {input.metrics} --table {output.table} --figure {output.figure}"
        " --grids {output.grids} --grids-table {output.grids_table} > {log} 2>&1"
