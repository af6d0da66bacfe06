"""Words for the process pages: every string the designer's JavaScript shows (sent to
the page as one JSON object, so the scripts hold no text of their own), and the names of
node types, statuses and diff entries the server-rendered pages use.

Placeholders such as %(n)s stay in the strings; the script fills them in.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

NODE_TYPES = ("start", "task", "approval", "gateway", "parallel_split", "parallel_join", "action",
              "end")
TYPE_LABELS = {
    "start": _l("Start"), "task": _l("Task"), "approval": _l("Approval"),
    "gateway": _l("Gateway"),
    "parallel_split": _l("Parallel split"), "parallel_join": _l("Parallel join"),
    "action": _l("Automatic action"), "end": _l("End"),
}
STATUS_LABELS = {"draft": _l("Draft"), "published": _l("Published"), "retired": _l("Retired")}
OPERATOR_LABELS = {
    "==": _l("equals"), "!=": _l("does not equal"), "contains": _l("contains"),
    "matches": _l("matches (regular expression)"), "<": _l("is less than"),
    ">": _l("is greater than"), "in": _l("is one of"), "is_empty": _l("is empty"),
}
WHO_LABELS = {
    "department": _l("Department"), "team": _l("Team"), "role": _l("Role"), "user": _l("User"),
    "department_lead": _l("Department lead"), "requester_manager": _l("Requester's manager"),
    "requester": _l("Requester"), "assignee": _l("Assignee"),
}
ACTION_LABELS = {
    "set_fields": _l("Set fields"), "add_note": _l("Add a note"), "notify": _l("Notify"),
    "create_subticket": _l("Create a sub-ticket"), "wait_timer": _l("Wait for a timer"),
    "wait_event": _l("Wait for an event"), "webhook": _l("Call a webhook"),
}
OUTCOME_LABELS = {"resolved": _l("Resolved"), "rejected": _l("Rejected")}

_STRINGS = {
    # canvas, palette, toolbar
    "drag_to_connect": _l("Drag to another node to connect"),
    "otherwise": _l("otherwise"),
    "edge_from_to": _l("Connection %(from)s → %(to)s"),
    # conditions
    "and": _l("and"),
    "or": _l("or"),
    "condition": _l("Condition"),
    "group": _l("Group"),
    "no_condition": _l("No condition: this is the default connection."),
    "match_all": _l("All of these (and)"),
    "match_any": _l("Any of these (or)"),
    "group_mode": _l("How the conditions combine"),
    "add_condition": _l("Add condition"),
    "add_group": _l("Add group"),
    "remove_group": _l("Remove group"),
    "field": _l("Field"),
    "operator": _l("Operator"),
    "value": _l("Value"),
    "comma_separated": _l("values, separated by commas"),
    "remove_condition": _l("Remove condition"),
    "outcome_of": _l("Outcome of %(node)s"),
    # node properties
    "assignee": _l("Assignee"),
    "assignee_kind": _l("Assign to"),
    "assignee_value": _l("Who"),
    "approvers": _l("Approvers"),
    "approvers_kind": _l("Approved by"),
    "approvers_value": _l("Who"),
    "escalate_to_kind": _l("Escalate to"),
    "escalate_to_value": _l("Who"),
    "notify_kind": _l("Recipient"),
    "notify_value": _l("Who"),
    "ticket_department": _l("The ticket's department"),
    "choose": _l("Choose…"),
    "required": _l("Required"),
    "shown": _l("Shown"),
    "default_value": _l("Default value"),
    "remove_form_field": _l("Remove form field"),
    "sla_minutes": _l("SLA (minutes)"),
    "form_fields": _l("Form fields"),
    "no_form_fields": _l("No form fields."),
    "add_form_field": _l("Add form field"),
    "quorum": _l("Quorum"),
    "quorum_any": _l("Any one approver"),
    "quorum_all": _l("All approvers"),
    "quorum_n_of_m": _l("N of the approvers"),
    "quorum_n": _l("How many approvers (N)"),
    "due_minutes": _l("Due within (minutes)"),
    "escalation": _l("Escalation"),
    "escalate_when_due": _l("Escalate when the approval is overdue"),
    "param_fields": _l("Fields to set"),
    "param_text": _l("Text"),
    "param_to": _l("Recipient"),
    "param_message": _l("Message"),
    "param_internal": _l("Internal note (not shown to the customer)"),
    "param_department": _l("Department"),
    "param_subject": _l("Subject"),
    "param_description": _l("Description"),
    "param_wait": _l("Wait until the sub-ticket is done"),
    "param_minutes": _l("Minutes to wait"),
    "param_event": _l("Event"),
    "param_status": _l("Status to wait for"),
    "param_field": _l("Field to watch"),
    "param_timeout_minutes": _l("Stop waiting after (minutes)"),
    "param_url": _l("Webhook URL"),
    "param_method": _l("HTTP method"),
    "event_customer_reply": _l("The customer replies"),
    "event_agent_reply": _l("An agent replies"),
    "event_status_change": _l("The status changes"),
    "event_field_change": _l("A field changes"),
    "event_subticket_done": _l("A sub-ticket is done"),
    "several_users_hint": _l("Hold Ctrl (or ⌘) to choose several users."),
    "no_condition_here": _l("Only connections leaving a gateway or an approval carry a condition."),
    "remove_field_value": _l("Remove this field"),
    "add_field_value": _l("Add field to set"),
    "action_type": _l("Action"),
    "outcome": _l("Outcome"),
    # panel
    "node_id": _l("Id"),
    "edge_id": _l("Id"),
    "label": _l("Label"),
    "connections": _l("Connections"),
    "connect_to": _l("Connect to"),
    "connect": _l("Connect"),
    "delete_node": _l("Delete node"),
    "delete_edge": _l("Delete connection"),
    "on_approved": _l("approved"),
    "on_rejected": _l("rejected"),
    "edge_label_hint": _l("Shown on the canvas; without one, the outcome and condition are shown."),
    "edge_on": _l("Taken when the approval is"),
    "edge_order": _l("Order"),
    "edge_order_hint":
        _l("A gateway takes the first connection (lowest order) whose condition holds."),
    "process_properties": _l("Process"),
    "process_title": _l("Process %(key)s"),
    "process_key": _l("Key"),
    "process_key_hint":
        _l("2–64 lower-case letters, digits or _; it cannot change after the first save."),
    "name_zh": _l("Name (Chinese)"),
    "name_en": _l("Name (English)"),
    "description": _l("Description"),
    "start_rules": _l("Start rules"),
    "start_rules_hint":
        _l("New tickets that match a rule enter this process; agents can also start it by hand."),
    "add_start_rule": _l("Add start rule"),
    "remove_start_rule": _l("Remove start rule"),
    "start_rule_n": _l("Rule %(n)s"),
    "any_value": _l("Any"),
    "rule_category": _l("Category"),
    "rule_channel": _l("Channel"),
    "rule_department": _l("Department"),
    "custom_rule_kept": _l("This rule also has a custom-field condition (kept as it is)."),
    "panel_hint": _l("Select a node or connection on the canvas to edit it."),
    # validation
    "validation_unavailable": _l("The check could not run; try again."),
    "problem_count": _l("%(n)s problem(s)"),
    "no_problems": _l("No problems"),
    "show": _l("Show"),
    "show_item": _l("Show the item at %(path)s"),
    # dry-run
    "step_previous": _l("Previous step"),
    "step_next": _l("Next step"),
    "step_play": _l("Play"),
    "dry_fields": _l("Ticket fields"),
    "dry_more_fields": _l("More fields"),
    "dry_outcomes": _l("Approval outcomes"),
    "dry_run_button": _l("Run"),
    "dry_running": _l("Running…"),
    "dry_failed": _l("The dry-run failed."),
    # saving and publishing
    "network_error": _l("The server could not be reached."),
    "session_lost": _l("The server's answer was not understood; perhaps your session has ended. "
                       "Download your work as JSON, then log in again."),
    "request_failed": _l("The request failed (HTTP %(status)s)."),
    "saved_version": _l("Saved as draft version %(version)s."),
    "save_conflict": _l("Someone else saved this process after you opened it. Your changes are "
                        "still here, but were not saved: download them as JSON, or open the "
                        "latest version."),
    "open_latest": _l("Open the latest version"),
    "published_version": _l("Version %(version)s is published."),
    "open_history": _l("Version history"),
    "busy": _l("Working…"),
    "checking": _l("Checking…"),
    "fix_problems_first": _l("Fix the problems before publishing."),
    "save_first": _l("Save the draft before publishing."),
    "only_drafts_publish": _l("Only a draft can be published."),
    "state_version": _l("Version %(version)s (%(status)s)"),
    "state_new": _l("New process, not saved yet"),
    "unsaved_changes": _l("unsaved changes"),
}


def designer_strings() -> dict[str, str]:
    """Every string the designer's scripts show, in the request's language."""
    out = {key: str(value) for key, value in _STRINGS.items()}
    for table, prefix in ((TYPE_LABELS, "type_"), (STATUS_LABELS, "status_"), (WHO_LABELS, "who_"),
                          (ACTION_LABELS, "action_"), (OUTCOME_LABELS, "outcome_"),
                          (OPERATOR_LABELS, "op_")):
        out.update({prefix + key: str(value) for key, value in table.items()})
    return out
