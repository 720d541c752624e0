"""The Python half of the Snakefile: the validated config (``config``), job resources (``resources``),
snapshot names (``snapshots``), stale-lock clearing (``locks``) and what a finished run prints
(``run_summary``). Nothing here computes a result."""
