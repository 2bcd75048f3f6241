"""`python -m cpsync.settings --markdown > docs/configuration.md`: print the configuration page."""

import sys

from cpsync.settings import markdown

if sys.argv[1:] != ["--markdown"]:
    sys.exit("usage: python -m cpsync.settings --markdown > docs/configuration.md")
sys.stdout.write(markdown())
