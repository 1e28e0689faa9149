"""Schemathesis hooks for Kabinet (loaded with SCHEMATHESIS_HOOKS=hooks).

- `filter_case` keeps the run from sawing off the branch it sits on: it never
  lets the fuzzing actor block, delete, re-address or sign out itself, its own
  company or its token, nor touch tenant B, whose token the replay uses.
- `cross_tenant_replay` is a check: every request on one object (a path with
  an id) that succeeded for the actor is sent again with tenant B's token and
  must be refused with 403 or 404. A request that names a company in its body
  (company_id, parent_id) must not succeed for tenant B either.
- `after_call` counts the cases sent, for the summary.
"""

import json
import os
import threading
from pathlib import Path

import schemathesis

ACTOR = json.loads(os.environ.get("KABINET_FUZZ_ACTOR", "{}"))
OTHER = json.loads(os.environ.get("KABINET_FUZZ_OTHER", "{}"))
COUNT_DIR = Path(os.environ.get("KABINET_FUZZ_COUNT_DIR", "."))

# Everything of tenant B: its replays must reach B's own objects never, so
# cases that name them are left out of the replay (and out of changes).
OTHER_IDS = {
    str(v) for k, v in OTHER.items() if k.endswith("_id") and v is not None
}

_lock = threading.Lock()
_counts = {"cases": 0, "replays": 0}


def _bump(name):
    with _lock:
        _counts[name] += 1
        (COUNT_DIR / f"{name}.txt").write_text(str(_counts[name]))


def _path(case):
    return case.operation.path  # e.g. /users/{id}


def _params(case):
    return {k: str(v) for k, v in (case.path_parameters or {}).items()}


def _mutating(case):
    return case.operation.method.upper() not in ("GET", "HEAD", "OPTIONS")


# An id no object has: a dangerous case is sent to it instead (a 404).
NOWHERE = 2147483647


def _dangerous(case):
    path = _path(case)
    params = _params(case)
    ident = params.get("id")
    if not _mutating(case):
        return False
    own_user = str(ACTOR.get("user_id"))
    own_company = str(ACTOR.get("company_id"))
    own_token = str(ACTOR.get("token_id"))
    if path.startswith("/api/v1/users/{id}") and ident == own_user:
        return True
    if path.startswith("/api/v1/companies/{id}") and ident == own_company:
        return True
    if path == "/api/v1/tokens/{id}" and ident == own_token:
        return True
    return any(value in OTHER_IDS for value in params.values())


@schemathesis.hook
def filter_case(ctx, case):
    return not _dangerous(case)


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    # Not every phase applies filter_case; every request passes here.
    if _dangerous(case):
        case.path_parameters = {k: NOWHERE for k in case.path_parameters}


# Objects the actor made inside tenant B (a department with company_id B,
# say): B may see those, so they are not replayed. Keyed by collection.
_owned_by_other = set()


def _collection(case):
    return case.operation.path.split("/{")[0]


def _note_owner(case, response):
    try:
        body = response.json()
    except Exception:
        return
    if not isinstance(body, dict) or "id" not in body:
        return
    collection = _collection(case)
    other_company = str(OTHER.get("company_id"))
    with _lock:
        companies = {other_company} | {i for c, i in _owned_by_other if c.endswith("/companies")}
        inside = str(body.get("company_id")) in companies or (
            collection.endswith("/companies") and str(body.get("parent_id")) in companies
        )
        if inside:
            _owned_by_other.add((collection, str(body["id"])))


@schemathesis.hook
def after_call(ctx, case, response):
    _bump("cases")
    if 200 <= response.status_code < 300:
        _note_owner(case, response)


def _names_a_company(case):
    body = case.body if isinstance(case.body, dict) else {}
    for key in ("company_id", "parent_id"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value) != str(OTHER.get("company_id"))
    return False


@schemathesis.check
def cross_tenant_replay(ctx, response, case):
    token = OTHER.get("token")
    if not token or not 200 <= response.status_code < 300:
        return None
    params = _params(case)
    object_level = bool(params)
    if not object_level and not (case.operation.method.upper() == "POST" and _names_a_company(case)):
        return None
    if any(value in OTHER_IDS for value in params.values()):
        return None
    _note_owner(case, response)
    with _lock:
        if (_collection(case), params.get("id")) in _owned_by_other:
            return None
    replay = case.call(headers={"Authorization": f"Bearer {token}"})
    _bump("replays")
    status = replay.status_code
    if object_level and status not in (403, 404):
        raise AssertionError(
            f"tenant B's token got {status} replaying {case.operation.method.upper()} "
            f"{case.formatted_path} (the actor got {response.status_code}); expected 403 or 404"
        )
    if not object_level and 200 <= status < 300:
        raise AssertionError(
            f"tenant B's token got {status} replaying POST {case.formatted_path} naming another "
            f"company in its body; expected a refusal"
        )
    return None
