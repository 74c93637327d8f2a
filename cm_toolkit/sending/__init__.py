"""What every sender shares, whatever it sends (the scheduler's posts, the inbox's replies): who
a sending process is and whether it still lives (``worker.py``), its record of requests started
(``inflight.py``: a crash before the request lets recovery send after all), and when to try a
failed send again (``retry.py``). It depends on no other package of cm_toolkit."""
