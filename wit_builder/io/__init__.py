"""Reading and writing through fsspec: local paths, globs, gs://, s3:// alike."""
