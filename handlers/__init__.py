"""The conversations: one Router per area, assembled in `handlers.routers` in the order
they are tried.

Importing this package loads nothing: the command line's `export` and `import` use the
framework-free modules here (the catalogs in `i18n`, `context`, `tell`, the planning
notices, the spreadsheet's rows) without loading aiogram, which takes seconds.
"""
