"""The audit anchor: the key that signs events and the anchor that pins the log's end, both
kept outside ``.shiftctl/`` where a writer of the state database cannot reach them."""
