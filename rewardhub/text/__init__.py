"""Text utilities shared by the n-gram metrics and rewards."""

from rewardhub.text.tokenizers import NAMES, Tokenizer, cjk_share, get_tokenizer, tokenize

__all__ = ["NAMES", "Tokenizer", "cjk_share", "get_tokenizer", "tokenize"]
