"""Ray actors. Per-user and per-match state lives in virtual actors: a fixed number of
shards, each hosting many keys by a stable hash (see `actors.ring`)."""
