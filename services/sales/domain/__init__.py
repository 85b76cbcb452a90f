"""Sales' input contracts and pure rules (accounts, lead scoring, pipelines and deals). No I/O."""
