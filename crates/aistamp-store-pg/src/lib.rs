//! PostgreSQL record store for aistamp, schema-compatible with ai-stamp 0.1.0.
