"""Protection and compliance (issue 14): per-number limits, caps and destinations, opt-out,
segments and cost, cancel. Each rule in its own module; screen.py applies them to a send request."""
