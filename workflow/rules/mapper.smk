rule foreground_masks:
    """Foreground masks of the training images of the mapper branch (grabCut, Otsu for small grey images, or DeepLabV3)."""
    input:
        data=dataset_input,
        segmenter=SEGMENTER_WEIGHTS,
        checked=weights_check,
    output:
        masks="results/mapper/masks.npz",
        table="results/mapper/mask_methods.csv",
    log:
        "results/logs/foreground_masks.log",
    conda:
        ENVIRONMENT
    resources:
        mem_mb=estimate("foreground_masks_mem"),
        runtime=estimate("foreground_masks_runtime"),
    params:
        data=data_json,
        n_images="" if MAPPER["n_images"] is None else f"--n-images {MAPPER['n_images']}",
        seed=MAPPER["subset_seed"],
        method=MAPPER["foreground"]["method"],
        faithful="--faithful" if MAPPER["foreground"]["faithful"] else "",
        iterations=MAPPER["foreground"]["iterations"],
        segmenter=segmenter_options,
    shell:
        "python -m cnntopo.mapper.foreground masks --data {params.data:q} {params.n_images} --subset-seed {params.seed}"
        " --method {params.method} {params.faithful} --iterations {params.iterations} {params.segmenter}"
        " --out {output.masks} --table {output.table} > {log} 2>&1"


rule receptive_fields:
    """Impulse receptive fields of the 16 mapper layers (weights set constant, BN removed): once per architecture."""
    output:
        "results/mapper/receptive_fields.npz",
    log:
        "results/logs/receptive_fields.log",
    conda:
        ENVIRONMENT
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        arch=MAPPER["model"]["arch"],
        width=MAPPER["model"]["width"],
        size=resources.image_side(config["data"]),
    shell:
        "python -m cnntopo.mapper.foreground receptive-fields --arch {params.arch} --width {params.width}"
        " --image-size {params.size} --out {output} > {log} 2>&1"


rule mapper_activations:
    """Points of the 16 mapper layers under each sampling mode of input noise level sigma {wildcards.sigma}
    (0: the clean images), one store per mode, from one pass over the images."""
    input:
        weights=expand(rules.train_model.output.weights, branch="mapper", seed=MAPPER_SEED),
        masks=rules.foreground_masks.output.masks,
        fields=rules.receptive_fields.output[0],
        data=dataset_input,
    output:
        directory("results/activations/mapper/sigma{sigma}"),
    log:
        "results/logs/mapper_activations/sigma{sigma}.log",
    benchmark:
        "results/benchmarks/mapper_activations/sigma{sigma}.tsv"
    wildcard_constraints:
        sigma="|".join(map(re.escape, NOISE_LEVELS)),
    conda:
        ENVIRONMENT
    threads: 1
    resources:
        mem_mb=estimate("mapper_activations_mem"),
        runtime=estimate("mapper_activations_runtime"),
        gpu=int(USE_GPU),
    params:
        data=data_json,
        modes=lambda w: NOISE_LEVELS[w.sigma],
        stores=lambda w, output: [f"{output[0]}/{mode}.zarr" for mode in NOISE_LEVELS[w.sigma]],
        noise_seed=MAPPER["noise"]["seed"],
        sampling_seed=MAPPER["sampling_seed"],
        full_cap=MAPPER["full_cap"],
        extract_batch=MAPPER["extract_batch"],
        device=config["device"],
    shell:
        "python -m cnntopo.mapper.activations --weights {input.weights} --data {params.data:q} --masks {input.masks}"
        " --receptive-fields {input.fields} --mode {params.modes} --sigma {wildcards.sigma}"
        " --noise-seed {params.noise_seed} --sampling-seed {params.sampling_seed} --full-cap {params.full_cap}"
        " --extract-batch {params.extract_batch} --device {params.device} --threads {threads} --out {params.stores}"
        " > {log} 2>&1"


rule mapper_graph:
    """Mapper graph of layer {wildcards.layer} under {wildcards.variant}: nodes, edges, parameters, purity and
    layout (JSON), drawn as an offline HTML page and a static figure with its node table."""
    input:
        lambda w: graph_extraction(w.variant),
    output:
        json="results/mapper/graphs/{variant}/layer{layer}.json",
        html=report(
            "results/mapper/graphs/{variant}/layer{layer}.html",
            caption="../report/mapper_graph.rst",
            category="Mapper graphs",
            subcategory="{variant}",
        ),
        figure="results/mapper/graphs/{variant}/layer{layer}.png",
        pdf="results/mapper/graphs/{variant}/layer{layer}.pdf",
        table="results/mapper/graphs/{variant}/layer{layer}.csv",
    log:
        "results/logs/mapper_graph/{variant}/layer{layer}.log",
    conda:
        ENVIRONMENT
    threads: 1
    resources:
        mem_mb=estimate("mapper_graph_mem"),
        runtime=estimate("mapper_graph_runtime"),
    params:
        intervals=MAPPER["graph"]["intervals"],
        overlap=lambda w: MAPPER["graph"]["noise_overlap" if GRAPH_SOURCES[w.variant].noisy else "overlap"],
        min_samples=MAPPER["graph"]["min_samples"],
        eps="" if MAPPER["graph"]["eps"] is None else f"--eps {MAPPER['graph']['eps']}",
        store=lambda w: graph_store(w.variant),
    shell:
        "python -m cnntopo.mapper.graph --store {params.store} --layer {wildcards.layer} --intervals {params.intervals}"
        " --overlap {params.overlap} --min-samples {params.min_samples} {params.eps} --json {output.json}"
        " --html {output.html} --out {output.figure} --table {output.table} > {log} 2>&1"


rule mapper_explorer:
    """One offline page for every mapper graph of the run: pie glyphs, pan and zoom, member images of a node."""
    input:
        graphs=graph_files(),
        stores=sorted({graph_extraction(v) for v, _ in all_graphs()}),
        masks=rules.foreground_masks.output.masks,
        fields=rules.receptive_fields.output[0],
        data=dataset_input,
    output:
        report(
            "results/mapper/explorer.html",
            caption="../report/mapper_explorer.rst",
            category="Mapper explorer",
            labels={"page": "mapper explorer"},
        ),
    log:
        "results/logs/mapper_explorer.log",
    localrule: True
    conda:
        ENVIRONMENT
    resources:
        mem_mb=estimate("mapper_explorer_mem"),
        runtime=10,
    params:
        data=data_json,
        stores=[graph_store(v) for v, _ in all_graphs()],  # one per graph, in the order of the graphs
    shell:
        "python -m cnntopo.mapper.explorer --graphs {input.graphs} --stores {params.stores} --data {params.data:q}"
        " --masks {input.masks} --receptive-fields {input.fields} --out {output} > {log} 2>&1"


rule figure_mapper_grid:
    """Figures 8 (random, full) and 9 (foreground, background): mapper graphs across layers."""
    input:
        lambda w: [graph_file(v, l) for v in FIGURE_ROWS[w.figure] for l in MAPPER["layers"]],
    output:
        figure=report(
            "results/figures/mapper/{figure}.png", caption="../report/mapper_grid.rst", category="Mapper figures"
        ),
        pdf="results/figures/mapper/{figure}.pdf",
        table="results/figures/mapper/{figure}.csv",
    log:
        "results/logs/figure_mapper_grid/{figure}.log",
    wildcard_constraints:
        figure="figure8|figure9",
    localrule: True
    conda:
        ENVIRONMENT
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        rows=lambda w: " ".join(FIGURE_ROWS[w.figure]),
        columns=[f"layer {l}" for l in MAPPER["layers"]],
        title=lambda w: {
            "figure8": "Figure 8: mapper graphs of random (one position per image) and full activations",
            "figure9": "Figure 9: mapper graphs of the foreground and background activations with the largest weights",
        }[w.figure],
    shell:
        "python -m cnntopo.mapper.figures grid --graphs {input} --rows {params.rows} --columns {params.columns:q}"
        " --title {params.title:q} --out {output.figure} --table {output.table} > {log} 2>&1"


rule figure_noise_graphs:
    """Figure 11: mapper graphs of the last layer as the input noise grows, for each noise sampling mode."""
    input:
        noise_graph_files(),
    output:
        figure=report(
            "results/figures/mapper/figure11_noise.png",
            caption="../report/mapper_noise.rst",
            category="Mapper figures",
        ),
        pdf="results/figures/mapper/figure11_noise.pdf",
        table="results/figures/mapper/figure11_noise.csv",
    log:
        "results/logs/figure_noise_graphs.log",
    localrule: True
    conda:
        ENVIRONMENT
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        rows=" ".join(MAPPER["noise"]["sampling"]),
        columns=["sigma = 0", *[f"sigma = {s}" for s in MAPPER["noise"]["sigmas"]]],
    shell:
        "python -m cnntopo.mapper.figures grid --graphs {input} --rows {params.rows} --columns {params.columns:q}"
        " --title 'Figure 11: mapper graphs of the last layer under Gaussian input noise'"
        " --out {output.figure} --table {output.table} > {log} 2>&1"


rule figure_purity:
    """Figure 12: class-wise purity of one class and mean node-wise purity across layers, per sampling mode."""
    input:
        [graph_file(v, l) for v in MAPPER["sampling"] for l in MAPPER["layers"]],
    output:
        figure=report(
            "results/figures/mapper/figure12_purity.png",
            caption="../report/mapper_purity.rst",
            category="Mapper figures",
        ),
        pdf="results/figures/mapper/figure12_purity.pdf",
        table=report(
            "results/figures/mapper/figure12_purity.csv",
            caption="../report/mapper_purity_table.rst",
            category="Mapper figures",
        ),
    log:
        "results/logs/figure_purity.log",
    localrule: True
    conda:
        ENVIRONMENT
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        class_index=MAPPER["purity_class"],
    shell:
        "python -m cnntopo.mapper.figures purity --graphs {input} --class-index {params.class_index}"
        " --out {output.figure} --table {output.table} > {log} 2>&1"


rule figure_foreground:
    """Figure 4: images, their foreground masks, and the foreground weight of each position of one layer."""
    input:
        masks=rules.foreground_masks.output.masks,
        fields=rules.receptive_fields.output[0],
        data=dataset_input,
    output:
        figure=report(
            "results/figures/mapper/figure4_foreground.png",
            caption="../report/mapper_foreground.rst",
            category="Mapper figures",
        ),
        pdf="results/figures/mapper/figure4_foreground.pdf",
        table="results/figures/mapper/figure4_foreground.csv",
    log:
        "results/logs/figure_foreground.log",
    localrule: True
    conda:
        ENVIRONMENT
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        data=data_json,
        layer=MAPPER["layers"][0],
    shell:
        "python -m cnntopo.mapper.figures masks --data {params.data:q} --masks {input.masks}"
        " --receptive-fields {input.fields} --layer {params.layer} --out {output.figure} --table {output.table}"
        " > {log} 2>&1"


rule figure_noise_examples:
    """Figure 10: example images with Gaussian noise of each sigma."""
    input:
        data=dataset_input,
    output:
        figure=report(
            "results/figures/mapper/figure10_noise_examples.png",
            caption="../report/mapper_noise_examples.rst",
            category="Mapper figures",
        ),
        pdf="results/figures/mapper/figure10_noise_examples.pdf",
        table="results/figures/mapper/figure10_noise_examples.csv",
    log:
        "results/logs/figure_noise_examples.log",
    localrule: True
    conda:
        ENVIRONMENT
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        data=data_json,
        sigmas=" ".join(map(str, MAPPER["noise"]["sigmas"])),
        seed=MAPPER["noise"]["seed"],
    shell:
        "python -m cnntopo.mapper.figures noise --data {params.data:q} --sigmas {params.sigmas}"
        " --noise-seed {params.seed} --out {output.figure} --table {output.table} > {log} 2>&1"
