"""``python -m wit_builder.train`` (what ``torchrun -m`` runs) is ``wit-train``."""

import sys

from wit_builder.train.cli import main

sys.exit(main())
