"""Default configuration (TOML data only), installed as monitor.default_config."""
