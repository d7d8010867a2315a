"""Page-number pagination: ?page=N&page_size=M (at most 200), with the total count."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request


class ApiPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int:
        # DRF quietly ignores a bad page_size; a client that sent one should hear about it.
        raw = request.query_params.get(self.page_size_query_param)
        if raw and not (raw.isascii() and raw.isdigit() and 0 < int(raw) <= self.max_page_size):
            raise ValidationError({"page_size": [f"Give a whole number from 1 to {self.max_page_size}."]})
        return super().get_page_size(request)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = self.max_page_size
        return parameters
