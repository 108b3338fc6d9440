"""The API's operations are an external contract: each path, method and operation id (generated
clients name their methods after it) stays put when the code behind it moves between apps."""

from contactcenter.api import api

OPERATIONS = [
    ("GET", "/api/v1/analytics/summary", "apps_analytics_api_summary"),
    ("GET", "/api/v1/approvals", "apps_approvals_api_list_approvals"),
    ("GET", "/api/v1/approvals/{approval_id}", "apps_approvals_api_get_approval"),
    ("POST", "/api/v1/approvals/{approval_id}/decide", "apps_approvals_api_decide_approval"),
    ("GET", "/api/v1/calls", "apps_calls_api_list_calls"),
    ("POST", "/api/v1/calls/outbound", "apps_calls_api_place_outbound_call"),
    ("GET", "/api/v1/calls/{call_id}", "apps_calls_api_get_call"),
    ("GET", "/api/v1/customers", "apps_customers_api_list_customers"),
    ("POST", "/api/v1/customers", "apps_customers_api_create_customer"),
    ("GET", "/api/v1/customers/{customer_id}", "apps_customers_api_get_customer"),
    ("PATCH", "/api/v1/customers/{customer_id}", "apps_customers_api_update_customer"),
    ("GET", "/api/v1/followups", "apps_outreach_api_list_followups"),
    ("POST", "/api/v1/followups", "apps_outreach_api_create_followup"),
    ("GET", "/api/v1/followups/{followup_id}", "apps_outreach_api_get_followup"),
    ("GET", "/api/v1/payments", "apps_promises_api_list_payments"),
    ("POST", "/api/v1/payments", "apps_promises_api_post_payment"),
    ("GET", "/api/v1/promises", "apps_promises_api_list_promises"),
]


def test_every_operation_keeps_its_path_method_and_id():
    schema = api.get_openapi_schema()
    found = sorted(
        (method.upper(), path, operation["operationId"])
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    )
    assert found == sorted(OPERATIONS)
