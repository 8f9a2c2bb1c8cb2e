"""The built-in metrics as Hugging Face ``evaluate`` modules, loadable from a local path::

    import evaluate
    from rewardhub.hf_evaluate import module_path

    distinct = evaluate.load(module_path("distinct"))
    distinct.compute(predictions=["a b c", "a b d"], tokenize="whitespace")

Each module's ``compute`` takes ``predictions`` (the responses) and the metric's own arguments
(``n``, ``tokenize``, ...), and returns the same dict as the rewardhub metric. Nothing is
downloaded: the module scripts live in this package. Importing this package does not import
``evaluate``; the module scripts do.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
MODULES = ("distinct", "distinct_avg", "self_bleu", "repetition", "ngram_entropy")


def module_path(name: str) -> str:
    """The local path to give ``evaluate.load`` for the metric ``name``."""
    if name not in MODULES:
        raise ValueError(f"no evaluate module {name!r}: use one of {', '.join(MODULES)}")
    return str(HERE / name)
