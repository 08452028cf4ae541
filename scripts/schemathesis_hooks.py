"""schemathesis hooks for scripts/schemathesis.

Every generated request carries the seeded admin's token. A request that demotes, disables,
re-passwords or deletes that admin (PUT/DELETE /v1/users/{its uid}) would end the token and
leave the rest of the run answering 401, so the admin's own uid is kept out of the users
paths; every other uid, and every user the run creates, is fair game.
"""

import os

import schemathesis

CALLER = os.environ.get("AUTHCORE_SCHEMATHESIS_CALLER_UID", "1")


@schemathesis.hook
def filter_path_parameters(context, path_parameters):
    operation = getattr(context, "operation", None)
    path = getattr(operation, "path", "") if operation is not None else ""
    if not path.startswith("/v1/users/{uid}") or not path_parameters:
        return True
    return str(path_parameters.get("uid")) != CALLER
