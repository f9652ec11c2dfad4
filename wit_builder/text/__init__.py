"""Text rules shared by the stages: tokenisation, phrases and word boundaries."""
