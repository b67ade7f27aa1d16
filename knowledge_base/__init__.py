"""Knowledge bases: ingestion, provenance-keeping chunks, offline embeddings (next issue)."""
