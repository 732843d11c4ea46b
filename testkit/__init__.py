"""Test and demo support for samtale: invented replies, a demo seal, one-off conversions.

Not part of the shipped package (the wheel carries ``pipeline`` only).
"""
