"""The API's list pagination (NINJA_PAGINATION_CLASS): ninja's limit/offset, with both bounded."""

from django.conf import settings
from ninja import Field, Schema
from ninja import pagination as ninja_pagination

# Past any list we hold, and small enough that offset + limit still fits the 64-bit integers
# the databases take (a larger offset crashed the query with a 500).
MAX_OFFSET = 1_000_000_000


class LimitOffsetPagination(ninja_pagination.LimitOffsetPagination):
    class Input(Schema):
        limit: int = Field(settings.NINJA_PAGINATION_PER_PAGE, ge=1, le=settings.NINJA_PAGINATION_MAX_LIMIT)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)
