"""Pelican plugins. Each module's ``register()`` only connects signals.

List them in pelicanconf.py, in this order::

    PLUGINS = ["storywall.pelican.stories", "storywall.pelican.initiatives"]
"""
