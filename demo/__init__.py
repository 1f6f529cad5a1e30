"""The demo feed: the real NYC flights 2013 data delivered as a live feed would (`replay`)."""
