import pytest

from appliance.rules.custom_fields import FieldDef, validate_custom_fields
from appliance.rules.numbering import format_number, parse_number


def test_ticket_numbers_are_prefix_year_and_six_digits():
    assert format_number("GD", 2026, 123) == "GD-2026-000123"
    assert format_number("GD", 2026, 1234567) == "GD-2026-1234567"


def test_ticket_numbers_parse_back_case_insensitively():
    assert parse_number(" gd-2026-000123 ") == ("GD", 2026, 123)
    assert parse_number("GD-26-1") is None
    assert parse_number("退款") is None


DEFS = [FieldDef("order_no", "Order", "text", required=True),
        FieldDef("qty", "Quantity", "number"),
        FieldDef("bought", "Bought on", "date"),
        FieldDef("line", "Product line", "select", ("phone", "laptop")),
        FieldDef("issues", "Issues", "multiselect", ("screen", "battery", "keyboard"))]


def test_valid_custom_fields_are_normalised():
    cleaned, errors = validate_custom_fields(DEFS, {
        "order_no": " A-1 ", "qty": "3", "bought": "2026-11-01", "line": "phone",
        "issues": ["battery", "screen", "battery"]})
    assert errors == {}
    assert cleaned == {"order_no": "A-1", "qty": 3, "bought": "2026-11-01", "line": "phone",
                       "issues": ["battery", "screen"]}


@pytest.mark.parametrize("values,field", [
    ({"qty": "three"}, "custom_fields.qty"),
    ({"qty": "nan"}, "custom_fields.qty"),
    ({"bought": "26/11/2026"}, "custom_fields.bought"),
    ({"line": "tablet"}, "custom_fields.line"),
    ({"issues": ["screen", "wings"]}, "custom_fields.issues"),
    ({"colour": "red"}, "custom_fields.colour"),
])
def test_bad_custom_field_values_are_reported_by_field_name(values, field):
    _, errors = validate_custom_fields(DEFS, {"order_no": "A-1", **values})
    assert field in errors


def test_a_required_custom_field_is_required_on_create_but_not_on_partial_update():
    _, errors = validate_custom_fields(DEFS, {})
    assert errors == {"custom_fields.order_no": "required"}
    _, errors = validate_custom_fields(DEFS, {"qty": 2}, partial=True)
    assert errors == {}
