"""The segment rule language: validation (`parse`), a Python evaluator (`evaluate`) for one
customer, and a compiler to one SQL predicate (`sql`). Both must agree on every rule."""
