"""The local runner: the project's real SAM template and real handlers, on a laptop.

``python -m local_runner --accounts FILE`` starts an embedded AWS (moto, in-process), creates
the template's stack in it (stack.py), runs each function from its ``sam build`` output in a
worker subprocess of its own (workers.py, worker.py) and plays the triggers SAM cannot emulate
without Docker: SQS and DynamoDB-stream mappings, the HTTP API and the schedules (triggers/).
Tests and the demo start it as a subprocess through ``local_runner.testing.start_runner``.
"""
