"""The read model: the only package that runs read SQL (queries/*.sql through sql.py).

Pages, the command line, the API and the exports ask a function here; an import-linter
contract keeps `dashboard.reports.sql` private to this package.
"""
