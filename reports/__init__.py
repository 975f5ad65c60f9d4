"""The documents Terrain produces: the intervention report as a PDF, rendered from a
plain data object (no database, no Telegram), so it can be tested and benchmarked
on its own."""
