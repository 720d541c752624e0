# The DeepDataProfiler branch (docs/method.md, DeepDataProfiler): profiles of test images per model and neuron
# kind, the topology of each profile graph, persistence images on one grid, class similarity, viewer.


rule profile_model:
    """Profiles (neurons and synapses per layer) of images_per_class test images per class, every kind."""
    input:
        unpack(profile_inputs),
    output:
        profiles=expand("results/profiles/{{model}}/{kind}.npz", kind=PROFILE["kinds"]),
        images="results/profiles/{model}/images.npz",
        table="results/profiles/{model}/profiles.csv",
    log:
        "results/logs/profile_model/{model}.log",
    benchmark:
        "results/benchmarks/profile_model/{model}.tsv"
    conda:
        ENVIRONMENT
    threads: 1
    resources:
        mem_mb=estimate("profile_model_mem"),
        runtime=estimate("profile_model_runtime"),
        gpu=int(USE_GPU),
    params:
        source=profile_source,
        images_per_class=PROFILE["images_per_class"],
        seed=PROFILE["seed"],
        kinds=" ".join(PROFILE["kinds"]),
        theta=PROFILE["theta"],
        tracing=PROFILE["tracing"],
        channel_norm=(f"--channel-norm {PROFILE['channel_norm']}" if PROFILE["channel_norm"] is not None else ""),
        batch=PROFILE["batch"],
        out_dir=lambda w: f"results/profiles/{w.model}",
        device=config["device"],
    shell:
        "python -m cnntopo.profile.profiler {params.source}"
        " --images-per-class {params.images_per_class} --seed {params.seed} --kinds {params.kinds}"
        " --theta {params.theta} --tracing {params.tracing} {params.channel_norm}"
        " --batch {params.batch} --device {params.device} --threads {threads} --out-dir {params.out_dir} > {log} 2>&1"


rule profile_topology:
    """H0/H1 of every profile graph (undirected shortest-path metric) of one model and kind."""
    input:
        "results/profiles/{model}/{kind}.npz",
    output:
        diagrams="results/profiles/{model}/{kind}/diagrams.npz",
        table="results/profiles/{model}/{kind}/topology.csv",
    log:
        "results/logs/profile_topology/{model}/{kind}.log",
    wildcard_constraints:
        kind="|".join(GRAPH_KINDS),
    conda:
        ENVIRONMENT
    resources:
        mem_mb=2000,
        runtime=estimate("profile_topology_runtime"),
    params:
        weighting=PROFILE["weighting"],
        kernel="--kernel" if PROFILE["kernel"] else "",
        diagonal="--sigma-with-diagonal" if PROFILE["kernel_sigma_with_diagonal"] else "",
        exact_vertices=PROFILE["exact_vertices"],
        landmarks=PROFILE["landmarks"],
    shell:
        "python -m cnntopo.profile.topology diagrams --profiles {input} --weighting {params.weighting}"
        " {params.kernel} {params.diagonal} --exact-vertices {params.exact_vertices} --landmarks {params.landmarks}"
        " --out {output.diagrams} --table {output.table} > {log} 2>&1"


rule persistence_images:
    """H1 persistence images of every profile graph of the run, on one grid."""
    input:
        profile_diagrams,
    output:
        images=profile_outputs("results/profiles/{model}/{kind}/persistence_images.npz", GRAPH_KINDS),
        grid="results/profiles/persistence_image_grid.json",
    log:
        "results/logs/persistence_images.log",
    conda:
        ENVIRONMENT
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        pixels=PROFILE["persistence_image"]["pixels"],
        sigma_pixels=PROFILE["persistence_image"]["sigma_pixels"],
    shell:
        "python -m cnntopo.profile.topology images --diagrams {input} --out {output.images}"
        " --pixels {params.pixels} --sigma-pixels {params.sigma_pixels}"
        " --grid {output.grid} > {log} 2>&1"


rule class_similarity:
    """Jaccard index of the class profiles' neuron sets, class by class."""
    input:
        profiles="results/profiles/{model}/{kind}.npz",
        images="results/profiles/{model}/images.npz",
    output:
        figure=report(
            "results/profiles/{model}/{kind}/class_jaccard.png",
            caption="../report/profile_jaccard.rst",
            category="Profiles",
            subcategory="{model}",
            labels={"model": "{model}", "kind": "{kind}", "figure": "class Jaccard"},
        ),
        table="results/profiles/{model}/{kind}/class_jaccard.csv",
    log:
        "results/logs/class_similarity/{model}/{kind}.log",
    conda:
        ENVIRONMENT
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python -m cnntopo.profile.profiles --profiles {input.profiles} --class-names-from {input.images}"
        " --title {wildcards.model:q} --out {output.figure} --table {output.table} > {log} 2>&1"


rule profile_viewer:
    """One offline page: per image its input, profile graph, diagram and persistence image."""
    input:
        images=profile_outputs("results/profiles/{model}/images.npz"),
        profiles=profile_outputs("results/profiles/{model}/{kind}.npz"),
        persistence_images=rules.persistence_images.output.images,
        grid=rules.persistence_images.output.grid,
        jaccard=profile_outputs("results/profiles/{model}/{kind}/class_jaccard.csv"),
    output:
        report(
            "results/profiles/viewer.html",
            caption="../report/profile_viewer.rst",
            category="Profile viewer",
            labels={"page": "profile viewer"},
        ),
    log:
        "results/logs/profile_viewer.log",
    conda:
        ENVIRONMENT
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        models=" ".join(PROFILE_MODELS),
        kinds=" ".join(PROFILE["kinds"]),
    shell:
        "python -m cnntopo.profile.viewer --root results/profiles --models {params.models}"
        " --kinds {params.kinds} --grid {input.grid} --out {output} > {log} 2>&1"
