"""Sub-commands of `sitmon`, one module each; none imports Textual at module level."""
