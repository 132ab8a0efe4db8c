"""`compilecheck explain`: a log a user already has into the same findings diagnose makes:
the command, its result (which prints itself), the log reader, a line's text as it reads it,
and the text side of the vocabulary (the patterns each class shows in a log).

May import: every stage below it (vocab ... report); it uses vocab and classify."""
