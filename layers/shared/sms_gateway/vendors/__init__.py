"""The vendor adapters: one module per vendor, with its code tables at the top.

- catalogue.py   vendor id -> adapter, imported only when an account uses it (a leaf)
- base.py        the adapter interface (VendorAdapter) and adapter_class()
- toolkit.py     helpers every adapter shares: vendor ids, code lists, signs, token refresh
- <vendor>.py    one vendor: its code tables, HTTP calls and parsers
"""
