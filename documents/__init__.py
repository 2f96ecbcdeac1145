"""Glue's shipping documents (DESIGN.md 6): address labels, packing slips, the handover
manifest and bulk PDFs. ``content`` turns model rows into plain data, one module per document
draws it with reportlab, and ``service`` decides who may get which document."""
