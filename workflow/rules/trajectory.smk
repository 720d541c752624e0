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


rule mapper_epoch_activations:
    """Points of the mapper layers of the mapper model after epoch {wildcards.epoch}, one sampling mode."""
    input:
        weights=mapper_epoch_weights,
        masks=rules.foreground_masks.output.masks,
        fields=rules.receptive_fields.output[0],
        data=dataset_input,
    output:
        directory("results/trajectory/mapper/epoch{epoch}.zarr"),
    log:
        "results/logs/mapper_epoch_activations/epoch{epoch}.log",
    wildcard_constraints:
        epoch=r"\d+",
    conda:
        ENVIRONMENT
    threads: 1
    resources:
        mem_mb=estimate("mapper_epoch_activations_mem"),
        runtime=estimate("mapper_activations_runtime"),
        gpu=int(USE_GPU),
    params:
        data=data_json,
        weights=mapper_epoch_file,
        mode=MAPPER["trajectory"]["sampling"],
        sampling_seed=MAPPER["sampling_seed"],
        full_cap=MAPPER["full_cap"],
        extract_batch=MAPPER["extract_batch"],
        device=config["device"],
    shell:
        "python -m cnntopo.mapper.activations --weights {params.weights} --data {params.data:q} --masks {input.masks}"
        " --receptive-fields {input.fields} --mode {params.mode} --sampling-seed {params.sampling_seed}"
        " --full-cap {params.full_cap} --extract-batch {params.extract_batch} --device {params.device}"
        " --threads {threads} --out {output} > {log} 2>&1"


rule mapper_trajectory:
    """Node purity of the mapper graphs at every mapper layer after each epoch of the mapper model's training."""
    input:
        expand(rules.mapper_epoch_activations.output[0], epoch=MAPPER_TRAJECTORY_EPOCHS),
    output:
        table=report(
            "results/trajectory/mapper/purity_by_epoch.csv",
            caption="../report/trajectory_mapper_table.rst",
            category="Topology across training",
        ),
        figure=report(
            "results/trajectory/mapper/purity_by_epoch.png",
            caption="../report/trajectory_mapper.rst",
            category="Topology across training",
        ),
        pdf="results/trajectory/mapper/purity_by_epoch.pdf",
    log:
        "results/logs/mapper_trajectory.log",
    conda:
        ENVIRONMENT
    resources:
        mem_mb=estimate("mapper_trajectory_mem"),
        runtime=lambda w, attempt: len(MAPPER["layers"]) * len(MAPPER_TRAJECTORY_EPOCHS) * 5 * attempt,
    params:
        epochs=" ".join(map(str, MAPPER_TRAJECTORY_EPOCHS)),
        layers=" ".join(map(str, MAPPER["layers"])),
        graph=(
            f"--intervals {MAPPER['graph']['intervals']} --overlap {MAPPER['graph']['overlap']}"
            f" --min-samples {MAPPER['graph']['min_samples']}"
            + ("" if MAPPER["graph"]["eps"] is None else f" --eps {MAPPER['graph']['eps']}")
        ),
        purity_class=MAPPER["purity_class"],
    shell:
        "python -m cnntopo.mapper.trajectory --epochs {params.epochs} --stores {input} --layers {params.layers}"
        " {params.graph} --purity-class {params.purity_class} --table {output.table} --figure {output.figure}"
        " > {log} 2>&1"
