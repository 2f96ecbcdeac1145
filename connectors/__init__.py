"""Shop connectors: the contract every platform implements, and the parts they share.

``base`` holds the contract and the connection settings, ``registry`` finds the platforms
(entry-point group ``glue.connectors``), ``errors`` is the error taxonomy, ``pricing`` the pricing
rule, ``models`` the external-reference table and ``publish`` the diff engine that decides what
goes out. Each platform lives in its own package with the same files (DESIGN.md 7).
"""
