"""wit-builder: collect a WIT-style image-text data set with Apache Beam, and train CLIP on it."""

__version__ = "0.1.0"
