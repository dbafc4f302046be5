"""The definition language: pydantic models, a located YAML loader, load-time checks.

What lives here: the models (``models``, ``parts``, ``effects``, ``types``, ``vocabulary``),
the located YAML reader and loader (``yamlsource``, ``loader``), merging ``extends`` (``merge``),
load-time checks (``checks``, ``template_checks``), the expression sandbox
(``expressions``, ``sandbox``), the working-day calendar (``calendar``), and what is made
from a definition: the JSON Schema and reference, a diagram, a diff.

Pure: no I/O beyond reading definition files, no clock, no Prefect or database.
May import: ``errors``, ``texts`` and the standard library (plus pydantic, PyYAML, Jinja2).
"""
