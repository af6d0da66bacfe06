"""OpenAPI paths and schemas of webapp/api/knowledge.py (merged by webapp/api/openapi.py).

Operations are built with openapi_parts; the error responses they name are defined in
openapi.py. Response objects are closed, so the contract test notices a field the API
answers and this document does not name (or the reverse).
"""
from __future__ import annotations

from appliance.rules.knowledge import ACTIONS, STATUSES
from appliance.services import knowledge, knowledge_metrics, knowledge_review, knowledge_search
from webapp.api.openapi_parts import json_body, json_response, operation
from webapp.api.openapi_schemas import BOOL, ID, TEXT, TIME, array, nullable, obj, ref

TAG = "knowledge"
WRITE = (400, 413, 415)
INT = {"type": "integer"}
COUNT = {"type": "integer", "minimum": 0}
DATE = {"type": "string", "format": "date"}
STATUS = {"type": "string", "enum": list(STATUSES)}
LANGUAGE = {"type": "string", "enum": list(knowledge.LANGUAGES)}
VISIBILITY = {"type": "string", "enum": list(knowledge.VISIBILITIES)}
VERSION = {"type": "integer", "minimum": 1, "maximum": ID["maximum"]}
STAFF = "Staff only; customers get 403."
HIDDEN = ("Customers only ever reach published public articles: any other is 404 for them, "
          "as is an id that does not exist.")


def _op(op_id: str, summary: str, ok: dict, errors=(), params=(), body=None,
        description: str = "") -> dict:
    return operation(op_id, TAG, summary, ok, errors, params, body, description=description)


_json, _body = json_response, json_body


def _query(name: str, schema: dict, description: str = "", required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "schema": schema,
            **({"description": description} if description else {})}


AID = [{"name": "article_id", "in": "path", "required": True, "schema": ID, "example": 1}]
IF_MATCH = {"$ref": "#/components/parameters/IfMatch"}
ETAG = {"ETag": {"description": "The article's version, for If-Match",
                 "schema": {"type": "string"}}}
LIMIT = _query("limit", {"type": "integer", "minimum": 1, "maximum": 100})
OFFSET = _query("offset", {"type": "integer", "minimum": 0, "maximum": 10_000})
FILTERS = [_query("status", STATUS), _query("language", LANGUAGE),
           _query("category_id", ID, "Articles of this category")]

CONTENT = {
    "title": {"type": "string", "minLength": 1, "maxLength": 255},
    "body": {"type": "string", "minLength": 1, "maxLength": knowledge.MAX_BODY,
             "description": "Markdown source (rendered and sanitised where shown)"},
    "language": LANGUAGE, "visibility": VISIBILITY,
    "tags": array({"type": "string", "maxLength": 64}, maxItems=knowledge.MAX_TAGS),
    "category_id": nullable(ID), "owner_id": nullable(ID),
    "review_by": nullable({"type": "string", "maxLength": 10, "format": "date",
                           "description": "YYYY-MM-DD: when it should be reviewed again"}),
}
VERSION_FIELDS = {"version": INT, "title": TEXT, "body": TEXT, "tags": array(TEXT),
                  "category_id": nullable(INT), "visibility": VISIBILITY,
                  "editor": nullable(ref("Ref")), "note": TEXT, "created_at": TIME}
DIFF_LINE = obj({"op": {"type": "string", "enum": [" ", "-", "+", "@"],
                        "description": "same, removed, added, or a hunk header"},
                 "text": TEXT})
ARTICLE_FIELDS = {
    "id": INT, "title": TEXT, "body": TEXT, "language": LANGUAGE, "visibility": VISIBILITY,
    "status": STATUS, "tags": array(TEXT), "category_id": nullable(INT),
    "owner": nullable(ref("Ref")), "review_by": nullable(DATE),
    "translation_group": nullable(INT), "ai_generated": BOOL, "update_of": nullable(INT),
    "version": INT, "created_at": TIME, "updated_at": TIME, "published_at": nullable(TIME),
    "reject_reason": {"type": "string", "description": "Why a proposal was rejected (staff only)"},
}
REF = ref("Ref")

SCHEMAS: dict = {
    "KbArticle": obj(ARTICLE_FIELDS, required=tuple(k for k in ARTICLE_FIELDS
                                                    if k != "reject_reason"),
                     description="A knowledge article. translation_group is shared by its "
                                 "translations; update_of names the article an AI proposal "
                                 "would update."),
    "KbArticlePage": obj({"items": array(ref("KbArticle")), "limit": INT, "offset": COUNT,
                          "next_offset": nullable(COUNT)},
                         description="Newest first; pass next_offset as offset for the next "
                                     "page (null on the last)."),
    "KbArticleList": obj({"items": array(ref("KbArticle"))}),
    "KbArticleCreate": obj({**CONTENT, "translation_of": nullable(ID)},
                           required=("title", "body"),
                           description="A new draft; translation_of links it to the article "
                                       "it translates (one article per language)."),
    "KbArticleChange": obj({**CONTENT, "note": {"type": "string", "maxLength": 255},
                            "expected_version": VERSION}, required=(),
                           description="Fields left out keep their values. expected_version "
                                       "(or If-Match): the version you read; 409 if changed."),
    "KbAction": obj({"action": {"type": "string", "enum": list(ACTIONS)},
                     "reason": {"type": "string", "maxLength": knowledge_review.MAX_REASON,
                                "description": "Required to reject (kept on the article)"},
                     "expected_version": VERSION}, required=("action",)),
    "KbRollback": obj({"version": VERSION, "expected_version": VERSION},
                      required=("version",)),
    "KbVersion": obj(VERSION_FIELDS),
    "KbVersionList": obj({"items": array(ref("KbVersion"))}),
    "KbDiff": obj({"from": ref("KbVersion"), "to": ref("KbVersion"),
                   "title": array(DIFF_LINE), "body": array(DIFF_LINE),
                   "fields": array(obj({"field": TEXT, "before": {}, "after": {}}))},
                  description="A line diff of title and body, and the metadata that changed."),
    "KbDeflection": obj({"article_id": INT, "counted": BOOL}),
    "KbSearchHit": obj({"article": ref("KbArticle"), "score": {"type": "number"},
                        "highlights": {"type": "object", "additionalProperties": TEXT,
                                       "description": "Field → safe HTML with <mark>"},
                        "terms": array(TEXT, description="The query words and synonyms "
                                                         "that matched")}),
    "KbFacet": obj({"value": {"type": ["integer", "string", "null"]}, "label": TEXT,
                    "count": COUNT}),
    "KbSearchResults": obj({
        "items": array(ref("KbSearchHit")), "total": COUNT, "limit": INT, "offset": COUNT,
        "facets": {"type": "object", "additionalProperties": array(ref("KbFacet")),
                   "description": "category, language, visibility, status"}}),
    "KbQueueItem": obj({"article": ref("KbArticle"), "target": nullable(ref("KbArticle")),
                        "sources": array(REF), "can_review": BOOL},
                       description="An article in review; target: the article an AI proposal "
                                   "updates; sources: the tickets it was drafted from."),
    "KbQueue": obj({"items": array(ref("KbQueueItem"))}),
    "KbMetrics": obj({
        "days": INT, "since": TIME, "until": TIME,
        "coverage": obj({"numerator": COUNT, "denominator": COUNT,
                         "ratio": nullable({"type": "number", "minimum": 0, "maximum": 1})},
                        description="Tickets resolved in the period (merged ones left out) "
                                    "and how many are linked to a published or archived "
                                    "article; ratio is null when none was resolved."),
        "reuse": obj({"inserted": COUNT, "links": COUNT, "snippets": COUNT,
                      "deflections": COUNT, "cited": COUNT,
                      "top": array(obj({"article": REF, "uses": COUNT, "inserted": COUNT,
                                        "deflections": COUNT, "cited": COUNT}),
                                   maxItems=knowledge_metrics.TOP_ARTICLES)}),
        "stale_count": COUNT,
        "stale": array(obj({"article": REF, "language": TEXT, "review_by": DATE,
                            "days_overdue": INT, "owner": nullable(REF)}),
                       maxItems=knowledge_metrics.STALE_LIST),
        "no_result_searches": COUNT,
        "no_result": array(obj({"query": TEXT, "searches": COUNT, "last_at": TIME}),
                           maxItems=knowledge_metrics.TOP_SEARCHES),
        "by_status": obj({s: COUNT for s in STATUSES}),
        "ai_pending_review": COUNT},
        description="Knowledge figures over the last `days` days (stale and counts by status: "
                    "now)."),
}

ARTICLE_OK = _json(200, "KbArticle", "The article", ETAG)
PATHS: dict = {
    "/kb/articles": {
        "get": _op("listKbArticles", "Articles the caller may read, newest first",
                   _json(200, "KbArticlePage", "One page of articles"), (400,),
                   [*FILTERS, LIMIT, OFFSET], description=HIDDEN),
        "post": _op("createKbArticle", "Write a new draft article",
                    _json(201, "KbArticle", "The new draft", ETAG), (*WRITE, 403),
                    body=_body("KbArticleCreate", {"title": "打印机卡纸怎么办",
                                                   "body": "1. 打开前盖\n2. 取出纸张",
                                                   "language": "zh", "tags": ["打印机"]}),
                    description=STAFF)},
    "/kb/articles/{article_id}": {
        "get": _op("getKbArticle", "One article", ARTICLE_OK, (404,), AID, description=HIDDEN),
        "put": _op("updateKbArticle", "Change an article's content (a new version)",
                   ARTICLE_OK, (*WRITE, 403, 404, 409), [*AID, IF_MATCH],
                   _body("KbArticleChange", {"title": "打印机卡纸的处理", "expected_version": 2}),
                   description="Published articles are changed by their category's reviewers. "
                               + STAFF),
        "delete": _op("deleteKbArticle", "Delete an article nobody relies on",
                      {"204": {"description": "Deleted"}}, (400, 403, 404, 409),
                      [*AID, IF_MATCH],
                      description="Reviewers only. 409 when it is published or a posted reply "
                                  "links to it: archive it instead.")},
    "/kb/articles/{article_id}/actions": {
        "post": _op("kbArticleAction", "Move an article through its life cycle",
                    ARTICLE_OK, (*WRITE, 403, 404, 409), [*AID, IF_MATCH],
                    _body("KbAction", {"action": "submit"}),
                    description="submit and return: staff; approve, unpublish, archive, "
                                "restore and reject: the category's reviewers. 409 when the "
                                "action does not apply to the article's status.")},
    "/kb/articles/{article_id}/versions": {
        "get": _op("listKbArticleVersions", "Every version, newest first (staff)",
                   _json(200, "KbVersionList", "The versions"), (404,), AID)},
    "/kb/articles/{article_id}/diff": {
        "get": _op("diffKbArticle", "What changed between two versions (staff)",
                   _json(200, "KbDiff", "The diff"), (400, 404),
                   [*AID, _query("from", VERSION, "Older version", required=True),
                    _query("to", VERSION, "Newer version (default: the latest)")])},
    "/kb/articles/{article_id}/rollback": {
        "post": _op("rollbackKbArticle", "Write an old version's content as a new version",
                    ARTICLE_OK, (*WRITE, 403, 404, 409), [*AID, IF_MATCH],
                    _body("KbRollback", {"version": 1}), description=STAFF)},
    "/kb/articles/{article_id}/translations": {
        "get": _op("kbArticleTranslations", "The article in its other languages",
                   _json(200, "KbArticleList", "Its translations the caller may read"),
                   (404,), AID, description=HIDDEN)},
    "/kb/articles/{article_id}/deflections": {
        "post": _op("deflectKbArticle", "\"This solved my problem\" (no ticket needed)",
                    {**_json(201, "KbDeflection", "Counted"),
                     **_json(200, "KbDeflection", "Already counted for you today")},
                    (403, 404), AID, description="Customers only (403 for staff). " + HIDDEN)},
    "/kb/search": {
        "get": _op("searchKb", "Search articles: ranked hits with highlights and facets",
                   _json(200, "KbSearchResults", "The hits the caller may read"), (400,),
                   [_query("q", {"type": "string", "maxLength": knowledge_search.MAX_QUERY},
                           "Words (zh or en); empty: every article, newest first"),
                    _query("language", LANGUAGE), _query("category_id", ID),
                    _query("visibility", VISIBILITY), _query("status", STATUS), LIMIT, OFFSET],
                   description="Customers search published public articles only.")},
    "/kb/review-queue": {
        "get": _op("kbReviewQueue", "Articles waiting for review, oldest first",
                   _json(200, "KbQueue", "The queue"), (400, 403),
                   [_query("limit", {"type": "integer", "minimum": 1, "maximum": 500})],
                   description=STAFF)},
    "/kb/metrics": {
        "get": _op("kbMetrics", "Knowledge metrics (supervisors and administrators)",
                   _json(200, "KbMetrics", "The figures"), (400, 403),
                   [_query("days", {"type": "integer", "minimum": 1,
                                    "maximum": knowledge_metrics.MAX_DAYS, "default": 30})])},
}
