"""The embed stage: every kept sample's image and text embeddings under one model (a wit-train
checkpoint or an open_clip model), through Beam's RunInference, for the curate stage's filters."""
