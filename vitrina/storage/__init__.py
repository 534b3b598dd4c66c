"""Where Vitrina keeps things: blob stores and the catalog."""
