"""What the bot says and does, with no knowledge of any platform."""
