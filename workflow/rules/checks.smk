# Checks before work: every weights file the user names, in any branch, is loaded once before a job
# computes with it, so a wrong file or node name stops the run in seconds, not after masks or controls.


rule check_weights:
    """The first job: every user model's weights file is present, loads into its architecture and has its nodes."""
    output:
        "results/checks/weights.json",
    log:
        "results/logs/check_weights.log",
    localrule: True
    conda:
        ENVIRONMENT
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        models=lambda w: " ".join(
            "--model " + " ".join(shlex.quote(str(part)) for part in model) for model in user_weights()
        ),
    shell:
        "python -m cnntopo.networks.torchvision_models check {params.models} --out {output} > {log} 2>&1"
