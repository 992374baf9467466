"""Federation: installations (nodes) that keep cross-province cases in step by signed messages."""
