# The generalisation branch (paper Figure 13; docs/method.md, Generalisation): mapper graphs of torchvision
# classifiers on the training images of data, with the mapper branch's masks and graph settings.


rule generalisation_activations:
    """Points of a torchvision classifier's feature nodes under every sampling mode, one store per mode,
    from one pass over the images."""
    input:
        unpack(generalisation_inputs),
    output:
        directory("results/activations/generalisation/{model}"),
    log:
        "results/logs/generalisation_activations/{model}.log",
    benchmark:
        "results/benchmarks/generalisation_activations/{model}.tsv"
    wildcard_constraints:
        model="|".join(map(re.escape, GENERALISATION_MODELS)) or "(?!)",
    conda:
        ENVIRONMENT
    threads: 1
    resources:
        mem_mb=estimate("generalisation_activations_mem"),
        runtime=estimate("generalisation_activations_runtime"),
        gpu=int(USE_GPU),
    params:
        model=generalisation_model_options,
        data=data_json,
        modes=GENERALISATION["sampling"],
        stores=lambda w, output: [f"{output[0]}/{mode}.zarr" for mode in GENERALISATION["sampling"]],
        sampling_seed=MAPPER["sampling_seed"],
        full_cap=MAPPER["full_cap"],
        extract_batch=MAPPER["extract_batch"],
        device=config["device"],
    shell:
        "python -m cnntopo.mapper.activations {params.model} --data {params.data:q} --masks {input.masks}"
        " --mode {params.modes} --sampling-seed {params.sampling_seed} --full-cap {params.full_cap}"
        " --extract-batch {params.extract_batch} --device {params.device} --threads {threads} --out {params.stores}"
        " > {log} 2>&1"


rule figure_generalisation:
    """Figure 13: mapper graphs of each torchvision classifier's last layer under each sampling mode."""
    input:
        generalisation_graph_files(last_only=True),
    output:
        figure=report(
            "results/figures/generalisation/figure13.png",
            caption="../report/generalisation.rst",
            category="Generalisation (Figure 13)",
        ),
        pdf="results/figures/generalisation/figure13.pdf",
        table=report(
            "results/figures/generalisation/figure13.csv",
            caption="../report/generalisation_table.rst",
            category="Generalisation (Figure 13)",
        ),
    log:
        "results/logs/figure_generalisation.log",
    localrule: True
    conda:
        ENVIRONMENT
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        rows=" ".join(GENERALISATION_MODELS),
        columns=GENERALISATION["sampling"],
    shell:
        "python -m cnntopo.mapper.figures grid --graphs {input} --rows {params.rows} --columns {params.columns:q}"
        " --title 'Figure 13: mapper graphs of the last layer of each architecture, by sampling mode'"
        " --out {output.figure} --table {output.table} > {log} 2>&1"
