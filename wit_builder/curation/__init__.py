"""Curation by model (issue 38): what the embeddings of the kept samples decide. Started with
semantic deduplication (``semantic_dedup``); the embed stage and the score filters follow."""
