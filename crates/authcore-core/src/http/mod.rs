//! Framework-free HTTP pieces for adapters: `Authorization` header parsing, the request and
//! response bodies of the Redis-compatible users API, and the JSON error body.
