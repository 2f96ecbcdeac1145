"""Bulk mutations in the Shopify sandbox: staged uploads and ``bulkOperationRunMutation``.

The flow Shopify documents (``reference/platforms.md`` 1.3, "Bulk import"), on loopback:

1. ``stagedUploadsCreate`` with ``resource: BULK_MUTATION_VARIABLES`` answers a target: a
   ``url`` (here the sandbox's ``/staged-uploads``, standing for the storage bucket) and form
   ``parameters`` (``key``, ``policy``, a signature over the policy, ...). The app POSTs them
   as ``multipart/form-data`` with the JSONL in a ``file`` field; the bucket answers 201.
2. ``bulkOperationRunMutation(mutation, stagedUploadPath: <key>)`` checks the mutation (one
   supported root field) and the file (every line a JSON object), and creates the operation
   (``CREATED``). A worker thread runs it (``RUNNING``): each line is the variables of one
   execution of the mutation, run against the shop without cost (bulk work is outside the
   rate limit). The result is a JSONL file, one line per input line,
   ``{"data": …, "__lineNumber": n}`` (``errors`` too when a line failed), served at
   ``/bulk-results/<name>.jsonl``; the operation becomes ``COMPLETED`` with ``url`` and
   ``objectCount``, and ``bulk_operations/finish`` goes to the app's subscriptions.
3. The app polls ``bulkOperation(id:)`` (or the deprecated ``currentBulkOperation``).

``bulk_startup_seconds`` and ``bulk_line_seconds`` on the sandbox model Shopify's queueing and
per-line work for benches; both are 0 by default.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask import Response, request
from graphql import GraphQLError, execute_sync, parse

from sandbox import shopify_schema

if TYPE_CHECKING:
    from sandbox.shopify import ShopifySandbox, ShopState

MAX_FILE_BYTES = 20 * 1024 * 1024  # what Shopify's bucket took in practice (platforms.md)
UPLOAD_TTL = 3600
BULK_MUTATIONS = frozenset({"productSet", "productUpdate"})  # the subset Glue may send


def _now_text() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _user_error(field: list[str] | None, message: str, code: str | None) -> dict[str, Any]:
    return {"field": field, "message": message, "code": code}


class Bulk:
    """The sandbox's staged files, result files and bulk operations (all under its lock)."""

    def __init__(self, sandbox: ShopifySandbox) -> None:
        self.sandbox = sandbox
        self.secret = uuid.uuid4().hex.encode()  # signs upload policies
        self.uploads: dict[str, tuple[str, bytes]] = {}  # key → (shop, content)
        self.results: dict[str, bytes] = {}
        self.threads: list[threading.Thread] = []

    # --- staged uploads -------------------------------------------------------------------

    def _base(self) -> str:
        server = self.sandbox.server
        return server.url if server is not None else "http://127.0.0.1"

    def _signature(self, policy: str) -> str:
        return hmac.new(self.secret, policy.encode(), hashlib.sha256).hexdigest()

    def staged_uploads_create(self, state: ShopState,
                              inputs: list[Mapping[str, Any]]) -> dict[str, Any]:
        targets, errors = [], []
        for index, item in enumerate(inputs):
            if item["resource"] != "BULK_MUTATION_VARIABLES":
                errors.append({"field": ["input", str(index), "resource"],
                               "message": "Only BULK_MUTATION_VARIABLES uploads are served "
                                          "by this sandbox"})
                continue
            if item.get("httpMethod", "PUT") != "POST":
                errors.append({"field": ["input", str(index), "httpMethod"],
                               "message": "Bulk mutation variables are uploaded with POST"})
                continue
            key = f"tmp/{state.merchant_location}/bulk/{uuid.uuid4()}/{item['filename']}"
            policy = base64.b64encode(json.dumps({
                "key": key, "shop": state.domain,
                "expires": time.time() + UPLOAD_TTL}).encode()).decode()
            now = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            parameters = [("key", key), ("Content-Type", item["mimeType"]),
                          ("success_action_status", "201"), ("acl", "private"),
                          ("policy", policy), ("x-goog-algorithm", "GOOG4-HMAC-SHA256"),
                          ("x-goog-credential", "sandbox/auto/storage/goog4_request"),
                          ("x-goog-date", now), ("x-goog-signature", self._signature(policy))]
            url = f"{self._base()}/staged-uploads"
            targets.append({"url": url, "resourceUrl": f"{url}/{key}",
                            "parameters": [{"name": n, "value": v} for n, v in parameters]})
        if errors:
            return {"stagedTargets": None, "userErrors": errors}
        return {"stagedTargets": targets, "userErrors": []}

    def upload(self) -> Response:
        """The bucket's form POST: a valid, unexpired policy for the key, and a file."""
        form, upload = request.form, request.files.get("file")
        policy = form.get("policy", "")
        signed = hmac.compare_digest(self._signature(policy).encode(),
                                     form.get("x-goog-signature", "").encode())
        try:
            terms = json.loads(base64.b64decode(policy)) if signed else {}
        except ValueError:
            terms = {}
        if not terms or terms.get("key") != form.get("key") or terms["expires"] < time.time():
            return _xml(403, "AccessDenied", "Invalid according to Policy")
        if upload is None:
            return _xml(400, "InvalidArgument", "POST requires exactly one file upload")
        content = upload.read(MAX_FILE_BYTES + 1)
        if len(content) > MAX_FILE_BYTES:
            return _xml(400, "EntityTooLarge", "Your proposed upload exceeds the maximum size")
        with self.sandbox.lock:
            self.uploads[terms["key"]] = (terms["shop"], content)
        body = f"<PostResponse><Key>{terms['key']}</Key></PostResponse>"
        return Response(body, status=int(form.get("success_action_status") or 204),
                        content_type="application/xml")

    def result_file(self, name: str) -> Response:
        content = self.results.get(name)
        if content is None:
            return _xml(404, "NoSuchKey", "The specified key does not exist.")
        return Response(content, content_type="application/jsonl")

    # --- bulk operations --------------------------------------------------------------------

    def run_mutation(self, state: ShopState, mutation: str,
                     path: str) -> dict[str, Any]:
        """``bulkOperationRunMutation``; the caller holds the sandbox lock."""
        def refused(message: str, code: str, field: list[str] | None = None) -> dict[str, Any]:
            return {"bulkOperation": None, "userErrors": [_user_error(field, message, code)]}

        try:
            document = parse(mutation)
            operation = shopify_schema.operation(document)
        except (GraphQLError, StopIteration):
            return refused("Invalid mutation: it does not parse", "INVALID_MUTATION",
                           ["mutation"])
        roots = [s.name.value for s in operation.selection_set.selections
                 if hasattr(s, "name")]
        if operation.operation.value != "mutation" or len(roots) != 1 \
                or roots[0] not in BULK_MUTATIONS:
            return refused("Invalid mutation: one supported mutation field is required",
                           "INVALID_MUTATION", ["mutation"])
        stored = self.uploads.get(path)
        if stored is None or stored[0] != state.domain:
            return refused("The JSONL file could not be found", "NO_SUCH_FILE",
                           ["stagedUploadPath"])
        try:
            lines = [json.loads(line) for line in stored[1].decode().splitlines()
                     if line.strip()]
        except (UnicodeDecodeError, ValueError):
            lines = []
        if not lines or not all(isinstance(line, dict) for line in lines):
            return refused("Unexpected file structure - expected JSONL",
                           "INVALID_STAGED_UPLOAD_FILE", ["stagedUploadPath"])
        running = [op for op in state.bulk_operations.values()
                   if op["status"] in ("CREATED", "RUNNING")]
        if len(running) >= self.sandbox.bulk_concurrency:
            return refused("A bulk mutation operation for this app and shop is already in "
                           "progress", "OPERATION_IN_PROGRESS")
        number = self.sandbox.next_id()
        operation_state = {"id": number, "status": "CREATED", "type": "MUTATION",
                           "createdAt": _now_text(), "completedAt": None, "objectCount": "0",
                           "rootObjectCount": "0", "fileSize": None, "url": None,
                           "partialDataUrl": None, "errorCode": None, "query": mutation}
        state.bulk_operations[number] = operation_state
        thread = threading.Thread(target=self._run, args=(state, number, document, lines),
                                  daemon=True, name=f"bulk-{number}")
        self.threads.append(thread)
        thread.start()
        return {"bulkOperation": render(operation_state), "userErrors": []}

    def _run(self, state: ShopState, number: int, document: Any,
             lines: list[dict[str, Any]]) -> None:
        from sandbox.shopify_resolvers import Root

        sandbox = self.sandbox
        time.sleep(sandbox.bulk_startup_seconds)
        with sandbox.lock:
            state.bulk_operations[number]["status"] = "RUNNING"
        out = []
        for index, variables in enumerate(lines):
            if sandbox.bulk_line_seconds:
                time.sleep(sandbox.bulk_line_seconds)
            with sandbox.lock:
                result = execute_sync(shopify_schema.schema(), document,
                                      root_value=Root(sandbox, state),
                                      variable_values=variables)
                line: dict[str, Any] = {"data": result.data}
                if result.errors:
                    line["errors"] = [{"message": e.message} for e in result.errors]
                line["__lineNumber"] = index
                out.append(json.dumps(line, separators=(",", ":")))
                state.bulk_operations[number]["objectCount"] = str(index + 1)
        content = ("\n".join(out) + "\n").encode()
        name = f"{uuid.uuid4()}.jsonl"
        with sandbox.lock:
            self.results[name] = content
            operation = state.bulk_operations[number]
            base = sandbox.server.url if sandbox.server is not None else "http://127.0.0.1"
            operation.update(status="COMPLETED", completedAt=_now_text(),
                             url=f"{base}/bulk-results/{name}", fileSize=str(len(content)),
                             rootObjectCount=str(len(lines)))
            payload = {"admin_graphql_api_id": f"gid://shopify/BulkOperation/{number}",
                       "completed_at": operation["completedAt"],
                       "created_at": operation["createdAt"], "error_code": None,
                       "status": "completed", "type": "mutation"}
        sandbox.send_webhook(state, "bulk_operations/finish", payload)

    def wait(self, timeout: float = 10.0) -> None:
        """Wait for every started operation (tests and `glue demo` shut down cleanly)."""
        for thread in list(self.threads):
            thread.join(timeout)


def render(operation: Mapping[str, Any]) -> dict[str, Any]:
    return {**{k: v for k, v in operation.items() if k != "id"},
            "id": f"gid://shopify/BulkOperation/{operation['id']}"}


def _xml(status: int, code: str, message: str) -> Response:
    body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return Response(body, status=status, content_type="application/xml")


__all__ = ["BULK_MUTATIONS", "Bulk", "MAX_FILE_BYTES", "render"]
