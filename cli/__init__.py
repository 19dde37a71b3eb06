"""``sms-gateway``: the operator's command line (status questions and recovery operations)."""
