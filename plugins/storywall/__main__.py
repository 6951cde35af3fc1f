"""``python -m storywall`` is the ``storywall`` command."""

from .cli import main

main()
