"""Evaluation: zero- and few-shot multiple choice (more to come: perplexity, PHI probing)."""
