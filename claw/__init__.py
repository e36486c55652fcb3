"""Claw: the home-automation assistant that lives in the house."""

__version__ = "0.1.0"
