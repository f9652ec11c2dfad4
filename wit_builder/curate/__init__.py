"""The curate stage: the rules that read the embed stage's embeddings (image–text agreement,
near copies of evaluation images, semantic duplicates) decide which samples the shards keep."""
