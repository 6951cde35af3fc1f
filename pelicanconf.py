"""Settings for the bundled demo site. `storywall build` reads this file.

Story Wall forces the settings its URL and safety contracts need (see
storywall/pelican/stories.py); everything of its own lives in STORYWALL.
"""

SITENAME = "Riverside Community Trust — Story Wall"
SITEURL = ""
AUTHOR = "Riverside Community Trust"
TIMEZONE = "Europe/London"
DEFAULT_LANG = "en"

PATH = "content"
OUTPUT_PATH = "output"
THEME = "theme"
PLUGIN_PATHS = ["plugins"]
PLUGINS = ["storywall.pelican.stories", "storywall.pelican.initiatives", "storywall.pelican.photos", "storywall.pelican.videos", "storywall.pelican.sharecards", "storywall.pelican.feeds", "storywall.pelican.withdrawn"]

CACHE_PATH = ".cache/pelican"
DELETE_OUTPUT_DIRECTORY = False  # storywall build swaps in a complete output/ itself

STORYWALL = {
    "organisation": "Riverside Community Trust",
    "tagline": "Why our supporters give, in their own words.",
    "donate_url": "https://example.org/donate",
    "stories_per_page": 12,
    "figure_max_age_days": 365,
}
