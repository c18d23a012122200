"""Bridges between streamllm and other libraries' callback systems.

Each bridge is its own module with its own extra, imported explicitly
(``from streamllm.integrations.langchain import from_langchain``), so this
package imports nothing.
"""

__all__: list[str] = []
