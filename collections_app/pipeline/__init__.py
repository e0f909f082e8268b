"""The ingest pipeline: schema check and extraction (parse), bulk storage (load), and the
stage runner that drives a submission from `queued` to its verdict (runner)."""
