"""The schemas of the files between stages (JSON); installed as ``wit_builder.schema_files``."""
