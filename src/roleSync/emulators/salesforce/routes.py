"""Which resource a request is for: its counter kind and its handler."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from roleSync.emulators.salesforce import bulk, bulk_query, create, oauth, rest, retrieve
from roleSync.emulators.salesforce.http import Request, Response, json_response, sf_error

if TYPE_CHECKING:
    from roleSync.emulators.salesforce.emulator import SalesforceEmulator

Groups = dict[str, str]
RouteHandler = Callable[["SalesforceEmulator", Request, Groups], Response]


def _versions(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    version = emu.config.api_version
    payload = [{"label": "emulated", "url": f"/services/data/v{version}", "version": version}]
    return json_response(200, payload)


def _token(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    return oauth.token(emu, request)


def _query(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    return rest.query(emu, request, groups["version"], include_deleted=False)


def _query_all(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    return rest.query(emu, request, groups["version"], include_deleted=True)


def _query_more(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    return rest.query_more(emu, groups["version"], groups["locator"])


def _limits(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    return rest.limits(emu)


def _describe(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    return rest.describe(emu, groups["sobject"])


def _sobject_get(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    return rest.sobject_get(emu, request, groups["version"], groups["sobject"], groups["id"])


def _sobject_patch(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    return rest.sobject_patch(emu, request, groups["sobject"], groups["id"])


def _collections(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    return rest.collections_patch(emu, request)


def _collections_create(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    return create.collections_create(emu, request)


def _upsert(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    return create.upsert(emu, request, groups["sobject"], groups["field"], groups["key"])


def _retrieve(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    return retrieve.retrieve(emu, request, groups["version"], groups["sobject"])


def _bulk_create(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    return bulk.create(emu, request, groups["version"])


def _bulk_list(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    return bulk.list_jobs(emu, groups["version"])


def _bulk_upload(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    return bulk.upload(emu, request, groups["job"])


def _bulk_state(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    return bulk.set_state(emu, request, groups["version"], groups["job"])


def _bulk_poll(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    return bulk.poll(emu, groups["version"], groups["job"])


def _bulk_delete(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    return bulk.delete(emu, groups["job"])


def _bulk_results(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    return bulk.results(emu, groups["job"], groups["kind"])


def _query_job_create(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    return bulk_query.create(emu, request, groups["version"])


def _query_job_poll(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    return bulk_query.poll(emu, groups["version"], groups["job"])


def _query_job_results(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    return bulk_query.results(emu, request, groups["job"])


def _query_job_abort(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    return bulk_query.set_state(emu, request, groups["version"], groups["job"])


def _query_job_delete(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    return bulk_query.delete(emu, groups["job"])


_V = r"/services/data/v(?P<version>\d+\.\d)/"
_JOB = _V + r"jobs/ingest/(?P<job>\w+)"
_QJOB = _V + r"jobs/query/(?P<job>\w+)"
_SOBJECT = _V + r"sobjects/(?P<sobject>\w+)/"
_COLLECTION = _V + r"composite/sobjects/(?P<sobject>\w+)/?"
_RESULTS = r"(?P<kind>successfulResults|failedResults|unprocessedrecords)"
# (method, path, kind, handler): the first full match wins.
_TABLE: tuple[tuple[str, str, str, RouteHandler], ...] = (
    ("GET", r"/services/data/?", "versions", _versions),
    ("POST", r"/services/oauth2/token/?", "oauth_token", _token),
    ("GET", _V + r"query/?", "query", _query),
    ("GET", _V + r"queryAll/?", "query_all", _query_all),
    ("GET", _V + r"query(?:All)?/(?P<locator>[^/]+)/?", "query_more", _query_more),
    ("GET", _V + r"limits/?", "limits", _limits),
    ("GET", _SOBJECT + r"describe/?", "describe", _describe),
    ("GET", _SOBJECT + r"(?P<id>[^/]+)/?", "sobject_get", _sobject_get),
    ("PATCH", _SOBJECT + r"(?P<id>[^/]+)/?", "sobject_patch", _sobject_patch),
    ("PATCH", _SOBJECT + r"(?P<field>\w+)/(?P<key>[^/]+)/?", "sobject_upsert", _upsert),
    ("PATCH", _V + r"composite/sobjects/?", "collections_patch", _collections),
    ("POST", _V + r"composite/sobjects/?", "collections_create", _collections_create),
    # sObject Collections retrieve: a read, whatever the method (see retrieve.py).
    ("POST", _COLLECTION, "collections_retrieve", _retrieve),
    ("GET", _COLLECTION, "collections_retrieve", _retrieve),
    ("POST", _V + r"jobs/ingest/?", "bulk_create", _bulk_create),
    ("GET", _V + r"jobs/ingest/?", "bulk_list", _bulk_list),
    ("PUT", _JOB + r"/batches/?", "bulk_upload", _bulk_upload),
    ("PATCH", _JOB + r"/?", "bulk_close", _bulk_state),
    ("GET", _JOB + r"/?", "bulk_poll", _bulk_poll),
    ("DELETE", _JOB + r"/?", "bulk_delete", _bulk_delete),
    ("GET", _JOB + "/" + _RESULTS + "/?", "bulk_results", _bulk_results),
    ("POST", _V + r"jobs/query/?", "query_job_create", _query_job_create),
    ("GET", _QJOB + r"/results/?", "query_job_results", _query_job_results),
    ("GET", _QJOB + r"/?", "query_job_poll", _query_job_poll),
    ("PATCH", _QJOB + r"/?", "query_job_abort", _query_job_abort),
    ("DELETE", _QJOB + r"/?", "query_job_delete", _query_job_delete),
)
_ROUTES = tuple((method, re.compile(path), kind, handler) for method, path, kind, handler in _TABLE)


def _not_found(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
    return sf_error(404, "NOT_FOUND", "The requested resource does not exist")


def resolve(request: Request, api_version: str) -> tuple[str, RouteHandler, Groups]:
    """(kind, handler, path groups); unknown paths and newer API versions are not_found."""
    allowed: list[str] = []
    for method, pattern, kind, handler in _ROUTES:
        found = pattern.fullmatch(request.path)
        if found is None:
            continue
        version = found.groupdict().get("version")
        if version is not None and float(version) > float(api_version):
            break
        if method == request.method or (method == "GET" and request.method == "HEAD"):
            return kind, handler, {k: v for k, v in found.groupdict().items() if v is not None}
        allowed.append(method)
    if not allowed:
        return "not_found", _not_found, {}
    message = (
        f"HTTP Method '{request.method}' not allowed. Allowed are {','.join(sorted(set(allowed)))}"
    )

    def refuse(emu: SalesforceEmulator, request: Request, groups: Groups) -> Response:
        return sf_error(405, "METHOD_NOT_ALLOWED", message)

    return "method_not_allowed", refuse, {}
