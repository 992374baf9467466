"""Files that stand for materials and results: checked by content (checks), kept sealed by content hash
(vault) in a store chosen by settings (storage: the local disk or S3-compatible object storage).
Plain functions and adapters: no tables, no web; the use cases above decide what a file belongs to."""
