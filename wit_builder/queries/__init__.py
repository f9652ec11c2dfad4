"""The queries stage: the Wikipedia-derived query list (WordNet, unigrams, bigrams, titles)."""
