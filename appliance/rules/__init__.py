"""Pure rules over plain values: no database, no I/O, trivially unit-tested."""
