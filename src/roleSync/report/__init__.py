"""What people look at after a run: the HTML/JSON/CSV run report, `explain`, progress.

Each module keeps rendering (values in, text out) apart from I/O; only `runs` reads
files and pulls books. Importing this package imports nothing heavy: the runner uses
`report.progress` and should not pay for the charts.
"""
