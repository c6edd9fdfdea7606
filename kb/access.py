"""Who may change the corpus from the app.

On localhost the person at the keyboard may. When the app listens on other addresses (Streamlit's
default "" means all of them), anyone on the network could add documents, make the server fetch
URLs or remove texts, so changes need the admin token (KB_ADMIN_TOKEN); without one they are off.
A token, once set, is asked for on localhost too.
"""

from __future__ import annotations

import hmac
from enum import Enum

LOCAL_ADDRESSES = ("localhost", "127.0.0.1", "::1")


class ChangeAccess(Enum):
    OPEN = "open"  # local app without a token: changes allowed
    TOKEN = "token"  # changes after the admin token is given
    CLOSED = "closed"  # reachable from the network and no token set: no changes


def change_access(server_address: str, admin_token: str) -> ChangeAccess:
    """How corpus changes are guarded for an app listening on `server_address`."""
    if admin_token:
        return ChangeAccess.TOKEN
    if (server_address or "").strip().strip("[]").lower() in LOCAL_ADDRESSES:
        return ChangeAccess.OPEN
    return ChangeAccess.CLOSED


CLOSED_MESSAGE = ("Changes to the corpus are off: this app listens beyond localhost and no admin "
                  "token is set. Set KB_ADMIN_TOKEN and restart the app, or run it with "
                  "--server.address localhost.")


def token_matches(given: str, admin_token: str) -> bool:
    """True when `given` is the admin token (compared in constant time)."""
    return bool(admin_token) and hmac.compare_digest(given.encode(), admin_token.encode())
