"""Users of the dashboard: a small file-based store with scrypt-hashed passwords and one role each.

No Dash or Flask import here: the CLI (`observatory users …`) and the dashboard's security layer both use it.
"""

from observatory.auth.store import (
    ROLES,
    AuthError,
    User,
    add_user,
    authenticate,
    get_user,
    has_users,
    hash_password,
    list_users,
    remove_user,
    secret_key,
    users_path,
    verify_password,
)

__all__ = [
    "ROLES",
    "AuthError",
    "User",
    "add_user",
    "authenticate",
    "get_user",
    "has_users",
    "hash_password",
    "list_users",
    "remove_user",
    "secret_key",
    "users_path",
    "verify_password",
]
