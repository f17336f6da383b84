"""Content is data: YAML files in this folder, validated by `content.schema`.

`load_content()` reads and validates every file once; a broken file stops
start-up with an error that names the file and the field.
"""

from content.loader import ContentError, load_content

__all__ = ["ContentError", "load_content"]
