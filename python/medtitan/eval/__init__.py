"""Evaluation: zero- and few-shot multiple choice (mcq), perplexity with intervals per doc_type
(perplexity), and the known-prefix PHI probe (phi_probe)."""
