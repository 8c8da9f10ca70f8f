"""`make bench`: the gateway against the physical floor, on loopback, in one run."""
