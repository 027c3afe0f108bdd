"""The test server's authentication: every request needs ``x-api-key: <API_KEY>``."""

from __future__ import annotations

from langgraph_sdk import Auth

API_KEY = "agno-learn-test-key"

auth = Auth()


@auth.authenticate
async def authenticate(headers: dict[bytes, bytes]) -> str:
    if headers.get(b"x-api-key") != API_KEY.encode():
        raise Auth.exceptions.HTTPException(status_code=401, detail="Missing or wrong API key.")
    return "reviewer"
