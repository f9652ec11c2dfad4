"""What only the tests use: helpers that are not part of the package."""
