"""What is wrong with a batch, item by item, reported all at once and writing nothing."""

from __future__ import annotations

from vitrina.errors import VitrinaError

#: problems listed in an error's details (the count is always complete)
MAX_PROBLEMS = 20


class BatchProblems:
    """Problems of a batch by item index (``start`` + its place in the batch); raises
    ``error`` naming the first of them and how many there are."""

    def __init__(self, error: type[VitrinaError], what: str, unwritten: str, start: int = 0) -> None:
        self.error, self.what, self.unwritten, self.start = error, what, unwritten, start
        self.items: list[dict] = []
        self.count = 0

    def add(self, index: int, field: str, message: str) -> None:
        self.count += 1
        if len(self.items) < MAX_PROBLEMS:
            self.items.append({"index": self.start + index, "field": field, "message": message})

    def raise_any(self, total: int) -> None:
        if self.count:
            first = self.items[0]
            raise self.error(
                f"{self.count} problem(s) in {total} {self.what}, {self.unwritten}; first: "
                f"item {first['index']} {first['field']}: {first['message']}",
                details={"problems": self.items, "count": self.count})
