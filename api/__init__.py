"""chainmatch REST API (HTTP only): app factory, routers, auth, problem+json errors, response schemas."""
