"""schemathesis hooks for scripts/schemathesis.

Every generated request carries the seeded admin's token. A request that demotes, disables,
re-passwords or deletes that admin (PUT/DELETE /v1/users/{its uid}) would end the token and
leave the rest of the run answering 401, so the admin's own uid is kept out of the users
paths; every other uid, and every user the run creates, is fair game.

Mapping names are unique (a second POST /v1/ldap_mappings with a name is 400
`name_already_exists`, Redis's answer), and the generator draws the same few names again and
again: a name the schema accepts gets a fresh suffix, so the body decides, not the luck of
the draw. A name the schema refuses (blank, control characters, too long) is left as it is.
"""

import itertools
import os
import re

import schemathesis

CALLER = os.environ.get("AUTHCORE_SCHEMATHESIS_CALLER_UID", "1")


@schemathesis.hook
def filter_path_parameters(context, path_parameters):
    operation = getattr(context, "operation", None)
    path = getattr(operation, "path", "") if operation is not None else ""
    if not path.startswith("/v1/users/{uid}") or not path_parameters:
        return True
    return str(path_parameters.get("uid")) != CALLER


# The name pattern of the served document (scripts/schemathesis reads it from there), matched
# whole: Python's `$` would also match before a final newline, which the pattern refuses.
MAPPING_NAME = re.compile(os.environ["AUTHCORE_SCHEMATHESIS_MAPPING_NAME_PATTERN"])
FRESH = itertools.count(1)


@schemathesis.hook
def before_call(context, case, kwargs):
    operation = case.operation
    if operation.method.upper() != "POST" or operation.path != "/v1/ldap_mappings":
        return
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        return
    name = body["name"]
    suffix = f" ~{next(FRESH)}"
    if MAPPING_NAME.fullmatch(name) and len((name + suffix).encode()) <= 255:
        body["name"] = name + suffix
