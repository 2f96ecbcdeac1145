"""Stand-ins for the shop platforms' APIs, for ``glue demo`` and the end-to-end tests
(DESIGN.md 11): :mod:`sandbox.shopify` now; WooCommerce and Magento reuse
:mod:`sandbox.common` (loopback server, fault injection, signed deliveries)."""
