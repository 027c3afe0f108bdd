"""The recipes' web app for the LangGraph server: drains pending learning on shutdown.

``langgraph.json`` mounts it with ``"http": {"app": "./nodes/webapp.py:app"}``; Starlette ships
with the server (``langgraph-cli[inmem]`` / ``langgraph-api``).
"""

from starlette.applications import Starlette

from agno_learn_langgraph import learning_lifespan

app = Starlette(lifespan=learning_lifespan)
