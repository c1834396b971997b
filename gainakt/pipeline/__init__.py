"""The plumbing that runs the book's experiments, apart from the science (`gainakt` itself):

* `matrix`: experiments.yml expanded into runs (what to run, where its outputs go);
* `selection`: which runs to act on, and where each one stands (done, running, stale lock, missing);
* `driver`: run the missing runs of a selection, in order, and summarise them;
* `executors`: where runs execute (local processes, a Dask cluster);
* `runner`: one run: a locked, papermill-executed training notebook whose outputs land atomically;
* `locks`: per-run lock files and liveness of their holders;
* `slurm`: Dask workers submitted as Slurm jobs;
* `faults`: fault injection for the driver's fault tests (off unless asked for).

`python -m gainakt.book` is its command line.
"""
