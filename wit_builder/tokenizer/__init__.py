"""The ``tokenizer`` stage: a byte-level BPE with CLIP's text handling, trained on the captions."""
