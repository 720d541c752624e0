# cnntopo: the topology of CNN activations (Purvine et al., AAAI 2023), as one Snakemake DAG.
# Configuration: config/config.yaml (the embedded default), validated against
# workflow/schemas/config.schema.yaml before any job runs.
from snakemake.utils import min_version

from cnntopo.workflow.run_summary import run_summary, stale_outputs

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/mapper_common.smk"
include: "workflow/rules/profile_common.smk"
include: "workflow/rules/generalisation_common.smk"
include: "workflow/rules/checks.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/activations.smk"
include: "workflow/rules/persistence.smk"
include: "workflow/rules/distances.smk"
include: "workflow/rules/specificity.smk"
include: "workflow/rules/sensitivity.smk"
include: "workflow/rules/comparison.smk"
include: "workflow/rules/mapper.smk"
include: "workflow/rules/profile.smk"
include: "workflow/rules/generalisation.smk"
include: "workflow/rules/trajectory.smk"


report: "workflow/report/workflow.rst"


onsuccess:
    print(run_summary(Path("results"), PH_METRICS if "ph" in BRANCHES else [], stale_outputs(Path("results"), config)))


rule all:
    default_target: True
    input:
        all_targets(),
