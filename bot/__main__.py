"""`python -m bot` is the same as the `dlcoach` console script."""

from bot.cli import main

main()
