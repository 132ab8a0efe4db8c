"""The report: one object holding a diagnosis (JSON in and out, schema
compilecheck.report/2), its JSON Schema, and its layouts (terminal and markdown).

May import: every stage below it (vocab ... decide)."""
