"""The model sizes ``wit-train --model`` knows, one open_clip-style JSON file each (``configs``)."""
