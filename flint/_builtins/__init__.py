"""Built-in plugins: ordinary plugin modules registered before third-party ones."""
