"""The vendor adapters: one package (or module) per vendor, with its code tables apart.

- catalogue.py   vendor id -> adapter, imported only when an account uses it (below the adapters)
- base.py        the adapter interface (VendorAdapter), its token refresh, and adapter_class()
- settings.py    the base of every vendor's Credentials and Options models and their field types
- toolkit.py     pure helpers every adapter shares: vendor ids, code lists, signs
- <vendor>/      one vendor: __init__.py (how the adapter reads the vendor's document),
                 codes.py (its code tables), client.py (its settings models and adapter: the
                 calls), readings.py (its parsers of pushed and pulled records, mixed in);
                 action_v1.py, under 400 lines, is one module with its tables at the top
"""
