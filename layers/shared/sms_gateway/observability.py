"""The one place that creates Logger, Tracer and Metrics; everything else imports them."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
