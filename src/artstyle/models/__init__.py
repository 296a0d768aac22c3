"""Models built from scratch with torch.nn (never pretrained weights), created by name from registries."""
