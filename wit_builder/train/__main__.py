"""``python -m wit_builder.train`` (what ``torchrun -m`` runs) is ``wit-train``."""

from wit_builder.train.cli import console_main

console_main()
