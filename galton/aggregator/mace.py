"""placeholder: filled by its author."""

__all__: list[str] = []
