"""The one thing pyproject.toml cannot say stably yet: the harvest matcher's C extension.

It is optional: without a C compiler the install still succeeds and the matcher falls back to its
pure-Python reference (same answers, about 3x slower), saying so in the log. Everything else about
the package is in pyproject.toml.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "wit_builder.harvest._phrase_table",
            sources=["wit_builder/harvest/_phrase_table.c"],
            extra_compile_args=["-O3"],
            optional=True,
        )
    ]
)
