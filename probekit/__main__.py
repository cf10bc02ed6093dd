"""``python -m probekit ...``: the ``probekit`` command, also as launched by
``torchrun --nproc_per_node N -m probekit extract ...`` or ``accelerate launch -m probekit``."""

import sys

from probekit.cli import main

if __name__ == "__main__":
    sys.exit(main())
