"""Stage 3: keep at most about t candidate pairs per query (the CLIP/MetaCLIP balance)."""
