"""The harvest stage: image-text pairs whose text contains a query (building blocks so far)."""
