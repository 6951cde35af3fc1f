"""Story Wall: a community story wall built with Pelican.

The package is a library first: importing it has no side effects (no Pelican
signals are connected, no files are read). The Pelican plugins live in
``storywall.pelican`` and only connect signals to the functions here.
"""

__version__ = "0.1.0"
