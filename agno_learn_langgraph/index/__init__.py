"""Ranking: lexical (BM25) and vector indexes of ranked namespaces, their cache and stamps.

Importing this package installs its batch executor in ``core.runner``: plan steps then stamp
writes to ranked namespaces, keep this process's cached indexes current and run side ops.
"""

from agno_learn_langgraph.core.runner import install_executor
from agno_learn_langgraph.index.batches import (
    RANKED_STORES,
    VERSIONS_NAMESPACE,
    IndexingExecutor,
    version_key,
)
from agno_learn_langgraph.index.lexical import LexicalIndex, bm25_idf, lexical_rank, tokenize
from agno_learn_langgraph.index.ranked import (
    INDEX_SCAN_LIMIT,
    VECTOR_SCAN_LIMIT,
    ranked_namespace,
    search_text,
    semantic_scored,
    semantic_search,
)
from agno_learn_langgraph.index.segments import NamespaceIndex
from agno_learn_langgraph.index.vectors import (
    MAX_VECTOR_BYTES,
    EmbedQueryOp,
    VectorIndex,
    VectorsOp,
    VectorSource,
    vector_source,
)

install_executor(IndexingExecutor())

__all__ = [
    "INDEX_SCAN_LIMIT",
    "MAX_VECTOR_BYTES",
    "RANKED_STORES",
    "VECTOR_SCAN_LIMIT",
    "VERSIONS_NAMESPACE",
    "EmbedQueryOp",
    "IndexingExecutor",
    "LexicalIndex",
    "NamespaceIndex",
    "VectorIndex",
    "VectorSource",
    "VectorsOp",
    "bm25_idf",
    "lexical_rank",
    "ranked_namespace",
    "search_text",
    "semantic_scored",
    "semantic_search",
    "tokenize",
    "vector_source",
    "version_key",
]
