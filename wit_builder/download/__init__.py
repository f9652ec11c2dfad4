"""Stage 4: fetch, verify, resize and dedupe the images, with every URL's fate recorded."""
