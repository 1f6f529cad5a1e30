"""What a dataset's contract (its entry in config/datasets/ and its Pandera model) implies:
the dbt sources generated from it, and profiling a new source into one."""
