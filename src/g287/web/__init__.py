"""The web site and HTTP API: thin layers over the same library calls as the CLI."""
