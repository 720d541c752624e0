if config["data"]["dataset"] == "cifar10":

    rule download_cifar10:
        """Make sure CIFAR-10 (python format) is under data.root; downloads it only with data.download."""
        output:
            directory(f"{config['data']['root']}/cifar-10-batches-py"),
        log:
            "results/logs/download_cifar10.log",
        localrule: True
        conda:
            ENVIRONMENT
        resources:
            mem_mb=1000,
            runtime=30,
        params:
            root=config["data"]["root"],
            download="--download" if config["data"]["download"] else "",
            checksums=(
                f"--checksums {shlex.quote(json.dumps(config['data']['checksums']))}"
                if config["data"]["checksums"]
                else ""
            ),
        shell:
            "python -m cnntopo.data download-cifar10 --root {params.root:q} {params.download} {params.checksums}"
            " > {log} 2>&1"


if config["data"]["dataset"] == "imagefolder":

    rule check_image_folder:
        """The first job on an image tree: says what is missing under data.root, and how it should look."""
        output:
            "results/data/image_folder.json",
        log:
            "results/logs/check_image_folder.log",
        localrule: True
        conda:
            ENVIRONMENT
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            root=config["data"]["root"],
        shell:
            "python -m cnntopo.data check-image-folder --root {params.root:q} --out {output} > {log} 2>&1"
