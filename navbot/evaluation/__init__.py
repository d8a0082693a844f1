"""`navbot eval`: localization measured on real issues, beside a same-run BM25 baseline."""
