"""Chapter analyses over finished runs (no training): the run table, the replication table with
verdicts, the audit's ablation table, and their figures. Notebooks call these and show the output."""
