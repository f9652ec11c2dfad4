"""Stage 5: WebDataset shards (globally shuffled tars, per-shard Parquet index, manifest) and their verifier."""
