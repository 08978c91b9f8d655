"""Resources shipped with the app. A wheel carries this folder as the package
`workbench.shipped.resources` (see workbench/shipped)."""
