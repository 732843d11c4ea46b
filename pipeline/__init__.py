"""samtale: the yearly employee review (medarbeidersamtale), end to end, from Word documents."""

__version__ = "0.1.0"
