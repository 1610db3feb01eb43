"""Errors of the normalize stage."""

from __future__ import annotations


class NormalizeInputError(ValueError):
    """The batch breaks the input contract (not mappings, missing or duplicate record_id).

    These are the hard failures that ``crmhub_dedupe.validate.validate_canonical`` reports
    as quarantine reasons: validate first, quarantine those records, normalize the rest.
    """

    def __init__(self, message: str, *, positions: list[int]) -> None:
        super().__init__(message)
        self.positions = positions

    def __reduce__(self) -> tuple[object, tuple[str, list[int]]]:
        # positions is keyword-only, which default exception pickling cannot pass: rebuild
        # explicitly, so the error crosses process boundaries (normalize_batches workers)
        return (_rebuild, (str(self), self.positions))


def _rebuild(message: str, positions: list[int]) -> NormalizeInputError:
    return NormalizeInputError(message, positions=positions)
