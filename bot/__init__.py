"""dlcoach: the application (configuration, CLI, web server, channels, delivery)."""
