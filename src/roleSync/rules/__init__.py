"""Rule files: loading with positions, the schema, compiling conditions, evaluating them."""
