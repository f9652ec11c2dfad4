"""The schemas of the files between stages (JSON), kept at the top of the repository and
installed as the package ``wit_builder.schema_files`` (setup.py maps it)."""
