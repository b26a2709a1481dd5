"""The team inbox in the OpenAPI document: conversations, templates, people and teams,
approvals and the audit log (the routes of web/api/conversations.py and web/api/inbox.py).

Request bodies mirror the views' ``check_fields`` (names, JSON types, nullability, required)
and response schemas the dicts they return; limits come from the constants the code checks.
``web.api.openapi_document.document`` merges these into the whole document.
"""

from __future__ import annotations

from gateway.audit import ACTIONS, READERS
from gateway.conversations import MAX_NOTE
from gateway.conversations import STATUSES as CONVERSATION_STATUSES
from gateway.inbox_views import NONE
from gateway.numbers import MAX_INPUT as MAX_NUMBER
from gateway.templates import MAX_BODY as MAX_TEMPLATE
from gateway.templates import MAX_NAME as MAX_TEMPLATE_NAME
from gateway.templates import VARIABLES
from gateway.users import ROLES
from web.api.conversations import MAX_LIMIT
from web.api.openapi_document import (
    NULLABLE_TIME,
    TIME,
    Schema,
    _idempotency_key,
    _json,
    _object,
    _problems,
    _ref,
    _scoped,
)

MAX_FILTER = 64  # the longest assignee, team, line, contact, actor or subject filter
MAX_AUDIT_LIMIT = 1000
NULLABLE_STRING: Schema = {"type": ["string", "null"]}
WHO_SEES = (
    "Agents see the conversations of their teams, those assigned to them and the shared "
    "pool (conversations of no team); managers, admins and auditors see all of them. A "
    "conversation the caller may not see answers 404."
)
NOT_AUDITORS = "the caller is an auditor (auditors read, they change nothing)"
VARIABLE_NAMES = ", ".join(f"`{{{name}}}`" for name in VARIABLES)


# -- small builders ---------------------------------------------------------------------------


def _path_id(name: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "schema": schema, "description": description}


def _problem(description: str) -> Schema:
    """A problem answer described for this operation (rather than the shared text)."""
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    }


def _forbidden(scope: str, roles: str) -> dict[str, Schema]:
    return {
        "403": _problem(
            f"The key lacks the `{scope}` scope (`insufficient_scope`), or {roles} (`forbidden`)."
        )
    }


def _body(schema: str, required: bool = True) -> Schema:
    return {"required": required, "content": {"application/json": {"schema": _ref(schema)}}}


def _list(item: str, paged: bool = False) -> Schema:
    properties: dict[str, Schema] = {"data": {"type": "array", "items": _ref(item)}}
    if paged:
        properties["next_cursor"] = {
            "type": ["string", "null"],
            "description": "Pass as `cursor` for the next (older) page; null at the end.",
        }
    return _object(properties)


# -- schemas ----------------------------------------------------------------------------------


def _conversation_properties() -> dict[str, Schema]:
    return {
        "id": {"type": "string", "examples": ["cv_01J9Z8Q4G8Y7K2M3N4P5Q6R7S8"]},
        "status": {
            "type": "string",
            "enum": list(CONVERSATION_STATUSES),
            "description": "A message from the contact makes a closed or snoozed one open.",
        },
        "contact": _object(
            {
                "id": {"type": "string"},
                "number": {
                    "type": "string",
                    "description": "The contact's number (E.164, or the sender as received); "
                    "`(erased)` once the contact was erased.",
                },
                "name": {
                    "type": ["string", "null"],
                    "description": "The name on file; null when none (or erased).",
                },
            }
        ),
        "line": {"type": "string", "description": "The line's name: replies go out on it."},
        "assignee_id": {**NULLABLE_STRING, "description": "The user working it; null: nobody."},
        "team_id": {**NULLABLE_STRING, "description": "Its team; null: the shared pool."},
        "unread": {"type": "boolean"},
        "last_activity_at": TIME,
        "last_inbound_at": NULLABLE_TIME,
        "snoozed_until": NULLABLE_TIME,
        "created_at": TIME,
    }


def _conversation_schemas() -> dict[str, Schema]:
    note = _object(
        {
            "id": {"type": "string"},
            "author_id": {"type": "string", "description": "A user's id, or `worker`."},
            "body": {"type": "string", "description": "`(erased)` once the contact was erased."},
            "created_at": TIME,
        }
    )
    detail = {
        **_conversation_properties(),
        "messages": {
            "type": "array",
            "description": "The latest messages (up to `limit`), oldest first.",
            "items": _ref("Message"),
        },
        "notes": {
            "type": "array",
            "description": "Internal notes (never sent), oldest first.",
            "items": _ref("Note"),
        },
    }
    return {
        "Conversation": _object(_conversation_properties()),
        "ConversationDetail": _object(detail),
        "ConversationList": _list("Conversation", paged=True),
        "ConversationHandedOver": {
            **_object({"id": {"type": "string"}}),
            "description": "The conversation went where the caller does not see it (to "
            "another team, or let go by an agent outside its team): its id only.",
        },
        "NewConversation": _object(
            {
                "to": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_NUMBER,
                    "description": "The customer's number; national forms are read in the "
                    "box's default region.",
                    "examples": ["+12015550123"],
                },
                "line": {"type": "string", "description": "The line's name: replies go out on it."},
            }
        ),
        "Note": note,
        "NewNote": _object({"body": {"type": "string", "minLength": 1, "maxLength": MAX_NOTE}}),
        "Assignment": _object(
            {
                "user": {
                    **NULLABLE_STRING,
                    "description": "The user's id; null or left out: back to the team's queue "
                    "(or the shared pool).",
                }
            },
            [],
        ),
        "Transfer": _object(
            {
                "user": {
                    **NULLABLE_STRING,
                    "description": "To this user's id (give `user` or `team`).",
                },
                "team": {
                    **NULLABLE_STRING,
                    "description": "To this team's queue, unassigned (give `user` or `team`).",
                },
                "note": {
                    **NULLABLE_STRING,
                    "maxLength": MAX_NOTE,
                    "description": "An internal note for whoever takes it over.",
                },
            },
            [],
        ),
        "NoFields": {
            **_object({}),
            "description": "No fields: an empty object, or no body at all.",
        },
        "Snooze": _object(
            {
                "until": {
                    **TIME,
                    "description": "RFC 3339 with an offset: in the future, and at most the "
                    "`inbox.snooze_max_days` setting (default 90) days ahead.",
                }
            }
        ),
        "Reply": _reply_schema(with_override=True),
        "ReplyPreview": _reply_schema(with_override=False),
        "PreviewText": _object(
            {"body": {"type": "string", "description": "The text a reply would send."}}
        ),
    }


def _reply_schema(with_override: bool) -> Schema:
    properties: dict[str, Schema] = {
        "body": {
            **NULLABLE_STRING,
            "minLength": 1,
            "maxLength": MAX_TEMPLATE,
            "description": f"The text; it may use the variables {VARIABLE_NAMES}.",
        },
        "template": {
            **NULLABLE_STRING,
            "description": "A template's id: its text is used when `body` is left out (or null).",
        },
        "sign": {
            "type": ["boolean", "null"],
            "default": True,
            "description": "false: without the signature (the user's own, else the box's).",
        },
    }
    if with_override:
        properties["override_sensitive"] = {
            "type": ["boolean", "null"],
            "default": False,
            "description": "A manager or an admin sends text that looks like a card number, "
            "a social security number or a password anyway (recorded in the audit log).",
        }
    return {
        **_object(properties, []),
        "description": "`body` or `template` (or both: then `body` is sent).",
        "anyOf": [
            {"required": ["body"], "properties": {"body": {"type": "string"}}},
            {"required": ["template"], "properties": {"template": {"type": "string"}}},
        ],
    }


def _other_schemas() -> dict[str, Schema]:
    template_body: Schema = {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_TEMPLATE,
        "description": f"Line breaks allowed, no other control characters; the variables are "
        f"{VARIABLE_NAMES} (any other `{{…}}` is refused).",
    }
    template_name: Schema = {
        "type": "string",
        "minLength": 1,
        "description": f"1 to {MAX_TEMPLATE_NAME} characters once trimmed, printable, on one line.",
    }
    return {
        "Template": _object(
            {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "body": {"type": "string"},
                "shared": {"type": "boolean", "description": "Everyone's, rather than own."},
                "owner_id": {**NULLABLE_STRING, "description": "null for shared templates."},
                "updated_at": TIME,
            }
        ),
        "TemplateList": _list("Template"),
        "NewTemplate": _object(
            {
                "name": template_name,
                "body": template_body,
                "shared": {
                    "type": ["boolean", "null"],
                    "default": False,
                    "description": "true: for everyone (managers and admins only); "
                    "otherwise the caller's own.",
                },
            },
            ["name", "body"],
        ),
        "TemplateChange": _object(
            {
                "name": {**template_name, "type": ["string", "null"]},
                "body": {**template_body, "type": ["string", "null"]},
            },
            [],
        ),
        "User": _object(
            {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "display_name": {**NULLABLE_STRING, "description": "How replies sign."},
                "role": {"type": "string", "enum": list(ROLES)},
                "disabled": {"type": "boolean"},
                "away": {"type": "boolean"},
                "away_until": {
                    "type": ["string", "null"],
                    "format": "date",
                    "description": "Back on that day.",
                },
                "delegate_id": {
                    **NULLABLE_STRING,
                    "description": "Who takes new conversations while they are away.",
                },
                "supervised": {
                    "type": "boolean",
                    "description": "Their replies wait for a manager's approval.",
                },
                "working_hours": {
                    **NULLABLE_STRING,
                    "description": "E.g. `mon-thu 08:00-16:00`; null: any time.",
                },
                "teams": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "The ids of their teams.",
                },
            }
        ),
        "UserList": _list("User"),
        "Team": _object(
            {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "default_line": {
                    **NULLABLE_STRING,
                    "description": "The name of the line its conversations start on.",
                },
                "members": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "The members' user ids, by name.",
                },
            }
        ),
        "TeamList": _list("Team"),
        "AuditEvent": _object(
            {
                "id": {"type": "integer", "minimum": 1},
                "at": TIME,
                "actor": {"type": "string", "description": "A user's id, `worker` or `cli`."},
                "actor_role": {"type": ["string", "null"]},
                "action": {"type": "string", "enum": list(ACTIONS)},
                "subject": {
                    **NULLABLE_STRING,
                    "description": "The id of what it was done to (a conversation, message, "
                    "contact).",
                },
                "detail": {
                    **NULLABLE_STRING,
                    "description": "Written by the box; never a body, name or number.",
                },
            }
        ),
        "AuditList": _object(
            {
                "data": {"type": "array", "items": _ref("AuditEvent")},
                "next_cursor": {
                    "type": ["string", "null"],
                    "pattern": "^[0-9]+$",
                    "description": "Pass as `cursor` for the next (older) page; null at the end.",
                },
            }
        ),
        "PendingMessageList": _list("Message"),
    }


def inbox_schemas() -> dict[str, Schema]:
    return {**_conversation_schemas(), **_other_schemas()}


# -- paths ------------------------------------------------------------------------------------


def _conversation_list() -> Schema:
    return {
        "get": {
            "operationId": "listConversations",
            "tags": ["conversations"],
            "summary": "The inbox: conversations, most recent activity first",
            "description": _scoped(
                "messages:read", WHO_SEES + " Unknown query parameters are refused (422)."
            ),
            "parameters": [
                _query(
                    "status",
                    {"type": "string", "enum": list(CONVERSATION_STATUSES)},
                    "Only these.",
                ),
                _query(
                    "assignee",
                    {"type": "string", "maxLength": MAX_FILTER},
                    f"A user's id; `me`: the caller's; `{NONE}`: unassigned.",
                ),
                _query(
                    "team",
                    {"type": "string", "maxLength": MAX_FILTER},
                    f"A team's id; `{NONE}`: the shared pool.",
                ),
                _query("line", {"type": "string", "maxLength": MAX_FILTER}, "The line's name."),
                _query("unread", {"type": "boolean"}, "`true` or `false`."),
                _query("contact", {"type": "string", "maxLength": MAX_FILTER}, "A contact's id."),
                _query(
                    "limit",
                    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 50},
                    "Page size.",
                ),
                _query("cursor", {"type": "string"}, "`next_cursor` of the previous page."),
            ],
            "responses": {
                "200": _json(_ref("ConversationList"), "A page of conversations."),
                **_problems(400, 401, 403, 422, 429),
            },
        },
        "post": {
            "operationId": "startConversation",
            "tags": ["conversations"],
            "summary": "Text a customer first: the conversation with a number on a line",
            "description": _scoped(
                "messages:send",
                "Finds or opens the conversation (reopened if closed or snoozed), assigned to "
                "the caller when nobody has it; then reply with `POST …/messages`. Refused "
                "(422): `invalid_number`, `unknown_line`, `recipient_erased`.",
            ),
            "parameters": [_idempotency_key()],
            "requestBody": _body("NewConversation"),
            "responses": {
                "201": _json(_ref("Conversation"), "The conversation, new or found."),
                **_problems(400, 401, 413, 415, 422, 429),
                **_forbidden("messages:send", NOT_AUDITORS),
                "409": _problem(
                    "A team the caller does not see has the conversation with this number on "
                    "that line (`conflict`); nothing of it is shown."
                ),
            },
        },
    }


def _conversation_one() -> Schema:
    return {
        "parameters": [_path_id("conversation_id")],
        "get": {
            "operationId": "getConversation",
            "tags": ["conversations"],
            "summary": "One conversation with its latest messages and its notes",
            "description": _scoped(
                "messages:read",
                WHO_SEES + " A look by a manager, admin or auditor is recorded in the audit log.",
            ),
            "parameters": [
                _query(
                    "limit",
                    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": MAX_LIMIT},
                    "How many of the latest messages.",
                )
            ],
            "responses": {
                "200": _json(_ref("ConversationDetail"), "The conversation."),
                **_problems(400, 401, 403, 404, 422, 429),
            },
        },
    }


def _action(
    operation_id: str,
    summary: str,
    description: str,
    *,
    scope: str = "messages:send",
    body: str = "NoFields",
    body_required: bool = False,
    forbidden: str | None = NOT_AUDITORS,
    answer: Schema | None = None,
    not_found: str = "No such conversation, or one the caller may not see (`not_found`).",
) -> Schema:
    responses: dict[str, Schema] = {
        "200": _json(answer or _ref("Conversation"), "The conversation now."),
        **_problems(400, 401, 403, 413, 415, 422, 429),
        "404": _problem(not_found),
    }
    if forbidden is not None:
        responses.update(_forbidden(scope, forbidden))
    return {
        "parameters": [_path_id("conversation_id")],
        "post": {
            "operationId": operation_id,
            "tags": ["conversations"],
            "summary": summary,
            "description": _scoped(scope, description),
            "parameters": [_idempotency_key()],
            "requestBody": _body(body, body_required),
            "responses": responses,
        },
    }


def _conversation_actions() -> dict[str, Schema]:
    handed: Schema = {"oneOf": [_ref("Conversation"), _ref("ConversationHandedOver")]}
    base = "/api/v1/conversations/{conversation_id}"
    return {
        f"{base}/assign": _action(
            "assignConversation",
            "Take a conversation, let it go, or (managers) give it to someone",
            "Agents may assign only themselves (or null: back to the queue); handing over to "
            "someone else is a transfer. Managers and admins assign anyone but auditors.",
            body="Assignment",
            forbidden=NOT_AUDITORS + ", or an agent names someone else",
            answer=handed,
            not_found="No such conversation (or one the caller may not see), or no active "
            "user with that id (`not_found`).",
        ),
        f"{base}/transfer": _action(
            "transferConversation",
            "Hand a conversation to a person or a team, with a note",
            "Exactly one of `user` and `team`; a transfer to a team leaves it unassigned in "
            "that team's queue. The conversation is reopened and marked unread.",
            body="Transfer",
            answer=handed,
            not_found="No such conversation (or one the caller may not see), or no such "
            "active user or team (`not_found`).",
        ),
        f"{base}/close": _action("closeConversation", "Close a conversation", "Marks it read."),
        f"{base}/reopen": _action("reopenConversation", "Reopen a conversation", "Ends a snooze."),
        f"{base}/read": _action(
            "readConversation",
            "Mark a conversation read",
            "An auditor's call changes nothing (their look leaves the staff's unread mark).",
            scope="messages:read",
            forbidden=None,
        ),
        f"{base}/snooze": _action(
            "snoozeConversation",
            "Snooze a conversation until a time",
            "It leaves the open lists until then, or until the contact writes again.",
            body="Snooze",
            body_required=True,
        ),
    }


def _conversation_writes() -> dict[str, Schema]:
    base = "/api/v1/conversations/{conversation_id}"
    not_seen = "No such conversation, or one the caller may not see (`not_found`)."
    no_template = (
        "No such conversation (or one the caller may not see), or no such template among "
        "the shared ones and the caller's own (`not_found`)."
    )
    return {
        f"{base}/notes": {
            "parameters": [_path_id("conversation_id")],
            "post": {
                "operationId": "addNote",
                "tags": ["conversations"],
                "summary": "Add an internal note (never sent)",
                "description": _scoped(
                    "messages:send",
                    "Kept encrypted with the contact's data: erasing the contact erases it.",
                ),
                "parameters": [_idempotency_key()],
                "requestBody": _body("NewNote"),
                "responses": {
                    "201": _json(_ref("Note"), "Added."),
                    **_problems(400, 401, 413, 415, 422, 429),
                    **_forbidden("messages:send", NOT_AUDITORS),
                    "404": _problem(not_seen),
                },
            },
        },
        f"{base}/messages": {
            "parameters": [_path_id("conversation_id")],
            "post": {
                "operationId": "replyToConversation",
                "tags": ["conversations"],
                "summary": "Reply to the contact from the conversation's line",
                "description": _scoped(
                    "messages:send",
                    "The text (typed or a template's) is filled in and signed; replying to an "
                    "unassigned conversation assigns it to the caller. A supervised user's "
                    "reply waits as `pending_approval` until a manager approves it. Text that "
                    "looks like a card number, a social security number or a password is "
                    "refused (422 `sensitive_content`) unless a manager or an admin sets "
                    "`override_sensitive`; consent rules apply as to any send.",
                ),
                "parameters": [_idempotency_key()],
                "requestBody": _body("Reply"),
                "responses": {
                    "202": _json(_ref("Message"), "Queued, or waiting for approval."),
                    **_problems(400, 401, 413, 415, 422, 429),
                    **_forbidden(
                        "messages:send",
                        NOT_AUDITORS + ", or someone other than a manager or an admin sets "
                        "`override_sensitive` on sensitive-looking text",
                    ),
                    "404": _problem(no_template),
                },
            },
        },
        f"{base}/preview": {
            "parameters": [_path_id("conversation_id")],
            "post": {
                "operationId": "previewReply",
                "tags": ["conversations"],
                "summary": "The text a reply would send, sending nothing",
                "description": _scoped(
                    "messages:read",
                    "The template filled in and the signature added, as the reply would be.",
                ),
                "requestBody": _body("ReplyPreview"),
                "responses": {
                    "200": _json(_ref("PreviewText"), "The text."),
                    **_problems(400, 401, 413, 415, 422, 429),
                    **_forbidden("messages:read", NOT_AUDITORS),
                    "404": _problem(no_template),
                },
            },
        },
    }


def _template_paths() -> dict[str, Schema]:
    not_found = _problem("No such template among the shared ones and the caller's own.")
    change_forbidden = "the caller is an auditor, or an agent changes a shared template"
    clash = _problem(
        "Another template of the same owner (or another shared one) has that name (`conflict`)."
    )
    return {
        "/api/v1/templates": {
            "get": {
                "operationId": "listTemplates",
                "tags": ["templates"],
                "summary": "Canned replies: the shared ones and the caller's own",
                "description": _scoped("messages:read", "Shared first, then by name."),
                "responses": {
                    "200": _json(_ref("TemplateList"), "The templates."),
                    **_problems(400, 401, 403, 429),
                },
            },
            "post": {
                "operationId": "createTemplate",
                "tags": ["templates"],
                "summary": "Write a template",
                "description": _scoped(
                    "messages:send",
                    "The caller's own, or (managers and admins) a shared one. Refused (422 "
                    "`invalid_template`): an empty text, an unknown variable, control "
                    "characters.",
                ),
                "parameters": [_idempotency_key()],
                "requestBody": _body("NewTemplate"),
                "responses": {
                    "201": _json(_ref("Template"), "Written."),
                    **_problems(400, 401, 413, 415, 422, 429),
                    **_forbidden(
                        "messages:send",
                        "the caller is an auditor, or an agent writes a shared template",
                    ),
                    "409": clash,
                },
            },
        },
        "/api/v1/templates/{template_id}": {
            "parameters": [_path_id("template_id")],
            "patch": {
                "operationId": "updateTemplate",
                "tags": ["templates"],
                "summary": "Rename a template or change its text",
                "description": _scoped(
                    "messages:send",
                    "Only the fields given (and not null) change. Shared templates are "
                    "changed by managers and admins.",
                ),
                "requestBody": _body("TemplateChange"),
                "responses": {
                    "200": _json(_ref("Template"), "Changed."),
                    **_problems(400, 401, 413, 415, 422, 429),
                    **_forbidden("messages:send", change_forbidden),
                    "404": not_found,
                    "409": clash,
                },
            },
            "delete": {
                "operationId": "deleteTemplate",
                "tags": ["templates"],
                "summary": "Delete a template",
                "description": _scoped(
                    "messages:send", "Shared templates are deleted by managers and admins."
                ),
                "responses": {
                    "204": {"description": "Deleted."},
                    **_problems(400, 401, 429),
                    **_forbidden("messages:send", change_forbidden),
                    "404": not_found,
                },
            },
        },
    }


def _people_paths() -> dict[str, Schema]:
    return {
        "/api/v1/users": {
            "get": {
                "operationId": "listUsers",
                "tags": ["people"],
                "summary": "The box's users, to assign and transfer to",
                "description": _scoped(
                    "messages:read",
                    "Everyone, disabled users included, by name; any role may list them.",
                ),
                "responses": {
                    "200": _json(_ref("UserList"), "The users."),
                    **_problems(400, 401, 403, 429),
                },
            }
        },
        "/api/v1/teams": {
            "get": {
                "operationId": "listTeams",
                "tags": ["people"],
                "summary": "The teams, with their members and default line",
                "description": _scoped("messages:read", "By name."),
                "responses": {
                    "200": _json(_ref("TeamList"), "The teams."),
                    **_problems(400, 401, 403, 429),
                },
            }
        },
    }


def _approval_paths() -> dict[str, Schema]:
    supervisors = "the caller is not a manager or an admin"

    def decide(operation_id: str, summary: str, description: str) -> Schema:
        return {
            "operationId": operation_id,
            "tags": ["approvals"],
            "summary": summary,
            "description": _scoped("messages:send", description),
            "parameters": [_idempotency_key()],
            "requestBody": _body("NoFields", required=False),
            "responses": {
                "200": _json(_ref("Message"), "The message, with its status history."),
                **_problems(400, 401, 413, 415, 422, 429),
                **_forbidden("messages:send", supervisors),
                "404": _problem("No outbound message with that id (`not_found`)."),
                "409": _problem("The message is not awaiting approval (`not_cancelable`)."),
            },
        }

    message_id = _path_id("message_id")
    return {
        "/api/v1/approvals": {
            "get": {
                "operationId": "listApprovals",
                "tags": ["approvals"],
                "summary": "Messages of supervised users waiting for approval",
                "description": _scoped(
                    "messages:read", "For managers and admins; the oldest 100, oldest first."
                ),
                "responses": {
                    "200": _json(_ref("PendingMessageList"), "The waiting messages."),
                    **_problems(400, 401, 429),
                    **_forbidden("messages:read", supervisors),
                },
            }
        },
        "/api/v1/messages/{message_id}/approve": {
            "parameters": [message_id],
            "post": decide(
                "approveMessage",
                "Approve a waiting message: it is queued (or scheduled)",
                "Managers and admins. An expiry that passed while it waited counts again from now.",
            ),
        },
        "/api/v1/messages/{message_id}/reject": {
            "parameters": [message_id],
            "post": decide(
                "rejectMessage",
                "Reject a waiting message: it is canceled",
                "Managers and admins; who rejected it is in its history and the audit log.",
            ),
        },
    }


def _audit_path() -> dict[str, Schema]:
    readers = " and ".join(f"{role}s" for role in READERS)
    return {
        "/api/v1/audit": {
            "get": {
                "operationId": "listAuditEvents",
                "tags": ["audit"],
                "summary": "The audit log, newest first",
                "description": _scoped(
                    "messages:read",
                    f"For {readers}: who looked at, handed over, approved, overrode, exported "
                    "or erased what. Unknown query parameters are refused (422).",
                ),
                "parameters": [
                    _query("action", {"type": "string", "enum": list(ACTIONS)}, "Only these."),
                    _query(
                        "actor",
                        {"type": "string", "maxLength": MAX_FILTER},
                        "A user's id, `worker` or `cli`.",
                    ),
                    _query(
                        "subject",
                        {"type": "string", "maxLength": MAX_FILTER},
                        "The id of a conversation, message or contact.",
                    ),
                    _query("since", TIME, "At or after (RFC 3339 with an offset)."),
                    _query("until", TIME, "Before (RFC 3339 with an offset)."),
                    _query(
                        "limit",
                        {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_AUDIT_LIMIT,
                            "default": 100,
                        },
                        "Page size.",
                    ),
                    _query(
                        "cursor",
                        {"type": "string", "pattern": "^[0-9]{1,18}$"},
                        "`next_cursor` of the previous page.",
                    ),
                ],
                "responses": {
                    "200": _json(_ref("AuditList"), "A page of events."),
                    **_problems(400, 401, 422, 429),
                    **_forbidden("messages:read", f"the caller is not one of the {readers}"),
                },
            }
        }
    }


def inbox_paths() -> dict[str, Schema]:
    paths = {
        "/api/v1/conversations": _conversation_list(),
        "/api/v1/conversations/{conversation_id}": _conversation_one(),
        **_conversation_actions(),
        **_conversation_writes(),
        **_template_paths(),
        **_people_paths(),
        **_approval_paths(),
        **_audit_path(),
    }
    for item in paths.values():
        for operation in item.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"] = dict(sorted(operation["responses"].items()))
    return paths


def inbox_tags() -> list[Schema]:
    return [
        {"name": "conversations", "description": "The team inbox: " + WHO_SEES},
        {"name": "templates", "description": "Canned replies."},
        {"name": "people", "description": "Users and teams."},
        {"name": "approvals", "description": "Supervised users' messages."},
        {"name": "audit", "description": "The audit log."},
    ]
