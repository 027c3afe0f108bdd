"""``python -m agno_learn_langgraph.cli``: the ``agno-learn`` command."""

import sys

from agno_learn_langgraph.cli.parser import main

if __name__ == "__main__":
    sys.exit(main())
