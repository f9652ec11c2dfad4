"""What a shard set needs to be published: ``croissant.json`` (Croissant 1.1 with its
Responsible-AI vocabulary) and ``README.md`` (a Hugging Face dataset card), both written from
what the chain recorded (the manifest, the upstream stages' stats, the shards' indexes)."""
