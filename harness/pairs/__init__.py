"""The reference application's router operations as pairs: one module per router."""
