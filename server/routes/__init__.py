"""One router per area of the API; `server.app` includes them all."""
