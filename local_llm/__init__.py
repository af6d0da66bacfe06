"""Local language model (llama.cpp in-process): model registry, prompts, triage and drafting.

Implements the `TextModel` protocol the domain defines; built by the triage
issue. Nothing here is imported by `appliance`.
"""
