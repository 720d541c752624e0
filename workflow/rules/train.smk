# One command for both training rules: train_model (one seed) and the train_models_* rules (ph.train.concurrent_seeds
# PH seeds in one process, one rule per group, since a rule's outputs cannot vary in number).
TRAIN_COMMAND = (
    "python -m cnntopo.train --data {params.data:q} --arch {params.arch} --width {params.width}"
    " --seed {params.seeds} --recipe {params.recipe:q} --weights {output.weights} --metrics {output.metrics}"
    " --checkpoint {params.checkpoints} {params.floor} --snapshot-epochs {params.snapshot_epochs}"
    " --snapshots {output.snapshots} --device {params.device} --threads {threads} > {log} 2>&1"
)


rule train_model:
    """Train seed {wildcards.seed} of the {wildcards.branch} branch's model (weights + metrics)."""
    input:
        data=dataset_input,
    output:
        weights="results/models/{branch}/seed{seed}.pt",
        metrics="results/models/{branch}/seed{seed}.metrics.json",
        snapshots=directory("results/models/{branch}/seed{seed}.snapshots"),
    log:
        "results/logs/train_model/{branch}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train_model/{branch}/seed{seed}.tsv"
    wildcard_constraints:
        branch="ph|mapper" if TRAINED_TOGETHER == 1 else "mapper",
    conda:
        ENVIRONMENT
    threads: 1
    resources:
        mem_mb=estimate("train_model_mem"),
        runtime=estimate("train_model_runtime"),
        gpu=int(USE_GPU),
    params:
        data=data_json,
        arch=lambda w: branch_config(w)["model"]["arch"],
        width=lambda w: branch_config(w)["model"]["width"],
        recipe=lambda w: recipe_json(w.branch),
        floor=lambda w: accuracy_floor(w.branch),
        snapshot_epochs=lambda w: " ".join(map(str, SNAPSHOT_EPOCHS if w.branch == "ph" else MAPPER_SNAPSHOT_EPOCHS)),
        seeds="{seed}",
        checkpoints="results/models/{branch}/seed{seed}.ckpt",
        device=config["device"],
    shell:
        TRAIN_COMMAND


for group_seeds in SEED_GROUPS if TRAINED_TOGETHER > 1 else []:

    rule:
        name:
            f"train_models_{group_seeds[0]}_{group_seeds[-1]}"
        input:
            data=dataset_input,
        output:
            weights=expand("results/models/ph/seed{seed}.pt", seed=group_seeds),
            metrics=expand("results/models/ph/seed{seed}.metrics.json", seed=group_seeds),
            snapshots=[directory(p) for p in expand("results/models/ph/seed{seed}.snapshots", seed=group_seeds)],
        log:
            f"results/logs/train_models/ph/seeds{group_seeds[0]}-{group_seeds[-1]}.log",
        benchmark:
            f"results/benchmarks/train_models/ph/seeds{group_seeds[0]}-{group_seeds[-1]}.tsv"
        conda:
            ENVIRONMENT
        threads: 1
        resources:
            mem_mb=estimate("train_models_mem"),
            runtime=estimate("train_models_runtime"),
            gpu=int(USE_GPU),
        params:
            data=data_json,
            arch=PH["model"]["arch"],
            width=PH["model"]["width"],
            recipe=recipe_json("ph"),
            floor=accuracy_floor("ph"),
            snapshot_epochs=" ".join(map(str, SNAPSHOT_EPOCHS)),
            seeds=" ".join(map(str, group_seeds)),
            checkpoints=expand("results/models/ph/seed{seed}.ckpt", seed=group_seeds),
            device=config["device"],
        shell:
            TRAIN_COMMAND


rule init_model:
    """The untrained control: seed {wildcards.seed}'s initialisation, saved without training (one job per
    seed, so that adding seeds leaves the existing ones and everything made from them as they are)."""
    input:
        data=dataset_input,
    output:
        weights="results/models/ph_untrained/seed{seed}.pt",
    log:
        "results/logs/init_model/seed{seed}.log",
    conda:
        ENVIRONMENT
    resources:
        mem_mb=estimate("init_model_mem"),
        runtime=10,
    params:
        data=data_json,
        arch=PH["model"]["arch"],
        width=PH["model"]["width"],
    shell:
        "python -m cnntopo.train --data {params.data:q} --arch {params.arch} --width {params.width}"
        " --seed {wildcards.seed} --untrained --weights {output.weights} > {log} 2>&1"


rule summarize_training:
    """Per-seed accuracies and training curves of the {wildcards.branch} branch."""
    input:
        metrics=lambda w: expand(
            rules.train_model.output.metrics,
            branch=w.branch,
            seed=SEEDS if w.branch == "ph" else [MAPPER_SEED],
        ),
    output:
        table=report(
            "results/models/{branch}/training_summary.csv",
            caption="../report/training_summary.rst",
            category="Seed models",
        ),
        curves_table="results/models/{branch}/training_curves.csv",
        figure=report(
            "results/models/{branch}/training_curves.png",
            caption="../report/training_curves.rst",
            category="Seed models",
        ),
        figure_pdf="results/models/{branch}/training_curves.pdf",
    log:
        "results/logs/summarize_training/{branch}.log",
    localrule: True
    conda:
        ENVIRONMENT
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "python -m cnntopo.training_summary --metrics {input.metrics} --table {output.table}"
        " --curves-table {output.curves_table} --figure {output.figure} > {log} 2>&1"
