"""Account lifecycle: deletion, export of everything held, and the purge that erases data on schedule."""
