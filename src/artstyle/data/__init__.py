"""Data: sources (image folder, Hugging Face, built-in), decoding, the decode-once cache, sampling, stats."""
