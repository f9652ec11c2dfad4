"""The bundled contrastive (CLIP) trainer that reads the shards; see ``wit-train --help``."""
