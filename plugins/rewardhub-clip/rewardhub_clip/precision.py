"""The precisions a CLIP model may run in (open_clip's names), shared by the reward, which checks
its args without importing torch, and the model, which loads in one of them."""

PRECISIONS = ("auto", "fp32", "fp16", "bf16", "pure_fp16", "pure_bf16")
