"""The two things pyproject.toml cannot say: the packages, and the harvest matcher's C extension.

- **Packages.** Every package under ``wit_builder/``, found, plus the top-level ``schemas/``
  folder installed as ``wit_builder.schema_files``: the schemas live once, where a reader of the
  repository looks for them, and an installed worker still has them (``package_dir`` maps the
  package to the folder; pyproject's ``packages.find`` cannot add a package from elsewhere).
- **The C extension** is optional: without a C compiler the install still succeeds and the
  matcher falls back to its pure-Python reference (same answers, about 3x slower), saying so in
  the log.

Everything else about the package is in pyproject.toml.
"""

from setuptools import Extension, find_packages, setup

SCHEMAS = ["wit_builder.schema_files", "wit_builder.schema_files.documents"]

setup(
    packages=[*find_packages(include=["wit_builder", "wit_builder.*"]), *SCHEMAS],
    package_dir={"wit_builder.schema_files": "schemas"},
    ext_modules=[
        Extension(
            "wit_builder.harvest._phrase_table",
            sources=["wit_builder/harvest/_phrase_table.c"],
            extra_compile_args=["-O3"],
            optional=True,
        )
    ],
)
