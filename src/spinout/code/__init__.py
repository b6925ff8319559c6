"""Code stage: rewrite references to moved modules, package each service, remove moved code from the core."""
