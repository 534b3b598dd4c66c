"""Vitrina: a self-hosted media platform for product teams."""

__version__ = "0.1.0"
