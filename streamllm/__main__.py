"""``python -m streamllm``: the same as the ``streamllm`` command."""

import sys

from streamllm.cli import main

if __name__ == "__main__":
    sys.exit(main())
