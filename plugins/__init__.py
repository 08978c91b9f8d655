"""Built-in plugins. A wheel carries this folder as the package `workbench.shipped.plugins`
(see workbench/shipped); its files are loaded by path, the same way as a user's plugin folder."""
