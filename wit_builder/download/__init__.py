"""Stage 4: fetch, verify, resize and dedupe the images (issue 6, in progress: fetching is built)."""
