"""The DeepDataProfiler branch (docs/method.md, DeepDataProfiler).

Reserved for the profilers, profile graphs, their topology and the viewer; nothing
is implemented here yet, and the workflow's ``branches`` does not offer ``profile``
until it is.
"""
