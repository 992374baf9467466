"""The paper the service prints: mailing labels (PDF and ZPL), receipts, manifests and notices.

Everything here renders plain data (the specs in `labels.specs`, built by the caller) and
imports no other project package but `config`.
"""
