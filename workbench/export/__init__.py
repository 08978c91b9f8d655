"""Export: what is deployed written down as C source, projects that build, and a report."""
