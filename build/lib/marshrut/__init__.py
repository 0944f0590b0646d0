"""Marshrut: BPMN process automation for the Department of Social Policy of the Zhytomyr city council.

The package holds the code (``engine``, ``api``, ``ui``) and the data analysts edit and the
service ships: diagrams (``bpmn``), forms, reference data, paper templates and migrations.
"""
