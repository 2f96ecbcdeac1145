"""Glue's domain: parties, catalogs, products, orders and shipments, and their storage.

Nothing in this package knows about HTTP, Flask or any shop platform.
"""
