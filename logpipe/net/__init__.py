"""Networking helpers shared by the network inputs (TLS options, socket setup)."""
